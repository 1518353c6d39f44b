"""Every crisis example of the project's data names its warning-sign family, one that
``crisis.yml`` defines for its kind: leave-one-family-out holds each family out whole, and a
misspelt family would be a family of its own that nothing else knows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from intents.crisis import CRISIS_INTENT, CrisisConfig
from intents.datasets import read_training_data

DATA = Path(__file__).resolve().parents[1] / "intents" / "data"
KIND_OF_INTENT = {intent: kind for kind, intent in CRISIS_INTENT.items()}


def test_every_crisis_example_names_a_family_of_its_kind() -> None:
    families = CrisisConfig.load().families
    crisis = [e for e in read_training_data(DATA) if e.intent in KIND_OF_INTENT]
    assert crisis
    untagged = [e.text for e in crisis if not e.family]
    assert not untagged, untagged[:5]
    wrong = [
        (e.text, e.family)
        for e in crisis
        if e.family not in families or families[e.family].kind != KIND_OF_INTENT[e.intent]
    ]
    assert not wrong, wrong[:5]


def test_no_example_outside_a_crisis_names_a_family() -> None:
    examples = read_training_data(DATA)
    tagged = [e.text for e in examples if e.family and e.intent not in KIND_OF_INTENT]
    assert not tagged, tagged[:5]


def test_the_warning_signs_have_examples() -> None:
    """Every warning sign (not the feelings) is learnt from examples, not from cues alone; a
    family with none is listed here on purpose."""
    config = CrisisConfig.load()
    counts = Counter(e.family for e in read_training_data(DATA) if e.family)
    # conflict (a quarrel that may turn violent) has cues but no examples yet.
    cue_only = {"conflict"}
    missing = {
        name
        for name, family in config.families.items()
        if not family.feeling and name not in cue_only and not counts[name]
    }
    assert not missing, sorted(missing)
