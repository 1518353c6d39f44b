"""The fast jieba cut gives jieba's own words."""

from __future__ import annotations

import random

import jieba
import pytest
from jieba import finalseg

from intents import embedded, segment
from intents.datasets import read_training_data
from intents.normalize import fold_for_matching
from intents.settings import NLUSettings

ODD_TEXTS = [
    "",
    " ",
    "😭😭😭",
    "我們還是會繼續堅持下去嗎",  # traditional, not folded
    "孩子 发烧\r\n\t39度   怎么办",
    "C++ 和 c# 课程 100% 免费.",
    "𠀀𠀁𪚥 囧 卍",  # rare and unknown characters
    "ｗｅｃｈａｔ微信号：ABC_123",
    "我想死" * 400,  # very long
    "abc" * 300,
]


@pytest.fixture(scope="module")
def tokenizer() -> jieba.Tokenizer:
    settings = NLUSettings()
    user_dictionary = settings.user_dictionary
    return embedded._tokenizer(str(user_dictionary) if user_dictionary else None)


def test_words_are_jiebas_on_every_training_example_and_odd_text(
    tokenizer: jieba.Tokenizer,
) -> None:
    raw = [example.text for example in read_training_data(NLUSettings().data_dir)]
    texts = dict.fromkeys(raw + [fold_for_matching(text) for text in raw] + ODD_TEXTS)
    different = [text for text in texts if segment.lcut(tokenizer, text) != tokenizer.lcut(text)]
    assert different == []


def test_hmm_splits_unknown_runs_as_jieba_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random runs of familiar and rare characters, with and without force-split words."""
    rng = random.Random(13)
    familiar = sorted(set("".join(e.text for e in read_training_data(NLUSettings().data_dir))))
    rare = [chr(code) for code in range(0x4E00, 0x9FD6, 37)] + ["𠀀", "a", "7", ".", "%"]
    runs = [
        "".join(rng.choice(familiar if rng.random() < 0.7 else rare) for _ in range(size))
        for size in (rng.randint(1, 12) for _ in range(20000))
    ]
    for force_split in (set(), {"我想", "问题", "孩子"}):
        monkeypatch.setattr(finalseg, "Force_Split_Words", force_split)
        different = [run for run in runs if _hmm_words(run) != list(finalseg.cut(run))]
        assert different == []


def _hmm_words(run: str) -> list[str]:
    words: list[str] = []
    segment._hmm_cut(run, words)
    return words
