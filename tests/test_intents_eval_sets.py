"""The project's own evaluation sets stay unseen: the model never trains on them."""

from __future__ import annotations

from pathlib import Path

from intents.datasets import read_crisis_corpus, read_dataset, read_training_data
from intents.normalize import fold_for_matching
from intents.taxonomy import CRISIS_INTENTS, Intent

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "intents" / "data"
EVERYDAY = ROOT / "intents" / "eval" / "everyday.yml"


def _folded(texts: list[str]) -> set[str]:
    return {fold_for_matching(text) for text in texts}


def test_everyday_chat_is_labelled_and_never_a_crisis() -> None:
    examples = read_dataset(EVERYDAY)
    assert len(examples) >= 80
    known = {intent.value for intent in Intent}
    assert {example.intent for example in examples} <= known - {i.value for i in CRISIS_INTENTS}


def test_no_evaluation_text_is_in_the_training_data() -> None:
    trained = read_training_data(DATA) + read_crisis_corpus(DATA)
    unseen = _folded([example.text for example in read_dataset(EVERYDAY)])
    assert not unseen & _folded([example.text for example in trained])
