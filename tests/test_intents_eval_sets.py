"""The project's own evaluation sets stay unseen: the model never trains on them."""

from __future__ import annotations

from pathlib import Path

from intents.datasets import read_crisis_corpus, read_dataset, read_training_data
from intents.normalize import fold_for_matching
from intents.taxonomy import CRISIS_INTENTS, Intent

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "intents" / "data"
EVAL = ROOT / "intents" / "eval"
EVERYDAY = EVAL / "everyday.yml"
# Mothers' messages written by a helper who never saw intents/data (2026-12-04): the dev set may
# be read; the sealed set is scored in aggregate only, never read or tuned to.
MOTHERS = (EVAL / "mothers_dev.yml", EVAL / "mothers_sealed.yml")
# Cantonese, traditional, pinyin and speech-to-text messages by a helper who never saw the
# repository (2026-12-06): read, like the dev set.
DIALECTS = EVAL / "dialects.yml"
# Its sealed twin, by another helper who saw neither: scored in aggregate only.
DIALECTS_SEALED = EVAL / "dialects_sealed.yml"
# A third helper's twins of crises in the same forms, mostly non-crises sharing their words
# (2026-12-06, thirteenth pass): read.
DIALECT_TWINS = EVAL / "dialect_twins.yml"
# Indirect suicide signs (farewells, passive ideation…) and their twins by a fourth helper
# (2026-12-06, thirteenth pass): scored in aggregate only.
FAREWELL_SEALED = EVAL / "farewell_sealed.yml"
# Its read twin by a fifth helper (2026-12-06, fourteenth pass): indirect signs and everyday
# goodbyes, favours and rests that share their words.
INDIRECT_TWINS = EVAL / "indirect_twins.yml"
# Violence said without its usual words, and twins sharing them: a sixth helper's, read, and a
# seventh's, sealed (2026-12-06, fourteenth pass).
VIOLENCE_TWINS = EVAL / "violence_twins.yml"
VIOLENCE_SEALED = EVAL / "violence_sealed.yml"
# An eighth helper's violence said without its words (2026-12-06, fourteenth pass): read.
VIOLENCE_DEV = EVAL / "violence_dev.yml"
# The border of distress (2026-12-06, fifteenth pass): crises told inside distress and mothers in
# distress who are not at risk, a ninth helper's sealed and a tenth's read.
DISTRESS_SEALED = EVAL / "distress_sealed.yml"
DISTRESS_DEV = EVAL / "distress_dev.yml"
# The sets of mothers' messages, dialects and twins, in the order they were written.
MEASURES = (
    *MOTHERS,
    DIALECTS,
    DIALECTS_SEALED,
    DIALECT_TWINS,
    FAREWELL_SEALED,
    INDIRECT_TWINS,
    VIOLENCE_TWINS,
    VIOLENCE_SEALED,
    VIOLENCE_DEV,
    DISTRESS_SEALED,
    DISTRESS_DEV,
)
SHORT = 7


def _folded(texts: list[str]) -> set[str]:
    return {fold_for_matching(text) for text in texts}


def test_everyday_chat_is_labelled_and_never_a_crisis() -> None:
    examples = read_dataset(EVERYDAY)
    assert len(examples) >= 80
    known = {intent.value for intent in Intent}
    assert {example.intent for example in examples} <= known - {i.value for i in CRISIS_INTENTS}


def test_mothers_sets_are_labelled_with_known_intents_and_hold_crises() -> None:
    known = {intent.value for intent in Intent}
    for path in MEASURES:
        examples = read_dataset(path)
        assert len(examples) >= 150, path
        assert {example.intent for example in examples} <= known, path
        assert sum(example.intent in CRISIS_INTENTS for example in examples) >= 50, path


def test_no_evaluation_text_is_in_the_training_data() -> None:
    training = read_training_data(DATA) + read_crisis_corpus(DATA)
    trained = _folded([example.text for example in training])
    assert not _folded([example.text for example in read_dataset(EVERYDAY)]) & trained
    for path in MEASURES:
        # Greetings as short as 你好 or 谢谢你们 are everyone's words; nothing longer is shared.
        shared = _folded([example.text for example in read_dataset(path)]) & trained
        assert all(len(text) <= SHORT for text in shared), path


def test_the_measures_share_no_message() -> None:
    seen: set[str] = set()
    for path in MEASURES:
        texts = _folded([example.text for example in read_dataset(path)])
        assert not texts & seen, path
        seen |= texts


def test_candidate_data_is_labelled_and_shares_no_evaluation_text() -> None:
    """Data measured and taken back (``intents/candidates/``) may be trained on by a later
    pass: it must keep the evaluation sets unseen as the training data does."""
    known = {intent.value for intent in Intent}
    evaluation = _folded([e.text for path in (EVERYDAY, *MEASURES) for e in read_dataset(path)])
    candidates = sorted((ROOT / "intents" / "candidates").glob("*.yml"))
    assert candidates
    for path in candidates:
        examples = read_dataset(path)
        assert examples and {example.intent for example in examples} <= known, path
        shared = _folded([example.text for example in examples]) & evaluation
        assert all(len(text) <= SHORT for text in shared), (path, shared)
