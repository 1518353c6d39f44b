"""Toneless pinyin typed for Chinese (wo bu xiang huo le, ta he jiu jiu da wo) → characters.

Mothers who cannot type characters, or who hide what they write, send romanised Chinese. The
crisis cues and the classifier read characters, so a run of Latin words that are all pinyin
syllables is decoded first, as a simple input method would: the syllables are cut into words
of jieba's dictionary, Careline's user dictionary and domain words (``data/pinyin_words.txt``)
by the most probable segmentation (unigram frequencies), one syllable falling back to its most
frequent character. English words are not runs of syllables (wechat, ok, hello), and a run of
one syllable is left alone. A chat token inside a run (hhh, lol, xd, ok) is kept as typed and
parts the run: qi de wo xiang sha le ta hhh hai hao is two runs with a laugh between.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import jieba
from pypinyin import Style, lazy_pinyin

# Dictionary words rarer than this are left out: they cost load time and win few decodings.
_MIN_FREQUENCY = 300
_MAX_WORD_SYLLABLES = 4
_DATA = Path(__file__).parent / "data"
# Careline's user dictionary, and domain words an input method's unigram guess gets wrong.
PINYIN_WORDS = _DATA / "pinyin_words.txt"
_DOMAIN = (_DATA / "userdict.txt", PINYIN_WORDS)
# Runs of at least two Latin words (the text is folded: lower-case, one space between words).
_RUN = re.compile(r"(?<![a-z0-9])[a-z]+(?: [a-z]+)+(?![a-z0-9])")
_LONGEST_SYLLABLE = 6
# Laughs and fillers typed among the syllables: not pinyin, yet no sign of English either.
_CHAT_TOKEN = re.compile(r"h{2,}|x+d+|lol|ok|emm+|233+|www+")


class _Lexicon:
    def __init__(self) -> None:
        self.words: dict[tuple[str, ...], tuple[str, float]] = {}
        counts: dict[str, int] = {}
        jieba_dictionary = Path(jieba.__file__).parent / "dict.txt"
        sources = [(jieba_dictionary, _MIN_FREQUENCY), *((path, 0) for path in _DOMAIN)]
        for path, minimum in sources:
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) < 2 or not parts[1].isdigit():
                    continue
                word, frequency = parts[0], int(parts[1])
                if frequency >= minimum and len(word) <= _MAX_WORD_SYLLABLES:
                    # A domain word outweighs the general dictionary's homophones.
                    known = counts.get(word, 0)
                    counts[word] = frequency if minimum == 0 else max(known, frequency)
        total = math.log(sum(counts.values()) or 1)
        for word, frequency in counts.items():
            syllables = tuple(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))
            if len(syllables) != len(word):
                continue
            score = math.log(frequency) - total
            if syllables not in self.words or self.words[syllables][1] < score:
                self.words[syllables] = (word, score)
        self.syllables = frozenset(s for key in self.words if len(key) == 1 for s in key)
        self.floor = -total - 10.0  # an unknown syllable: kept as typed, very improbable

    def split(self, token: str) -> list[str] | None:
        """A Latin word cut into syllables, longest first (zisha → zi sha); None if it is not
        pinyin."""
        syllables, start = [], 0
        while start < len(token):
            for end in range(min(len(token), start + _LONGEST_SYLLABLE), start, -1):
                if token[start:end] in self.syllables:
                    syllables.append(token[start:end])
                    start = end
                    break
            else:
                return None
        return syllables

    def decode(self, syllables: list[str]) -> str:
        best: list[tuple[float, int, str]] = [(0.0, 0, "")]
        for end in range(1, len(syllables) + 1):
            candidates = []
            for size in range(1, min(_MAX_WORD_SYLLABLES, end) + 1):
                start = end - size
                found = self.words.get(tuple(syllables[start:end]))
                if found is not None:
                    candidates.append((best[start][0] + found[1], start, found[0]))
            if not candidates:
                candidates.append((best[end - 1][0] + self.floor, end - 1, syllables[end - 1]))
            best.append(max(candidates))
        words, end = [], len(syllables)
        while end > 0:
            _, start, word = best[end]
            words.append(word)
            end = start
        return "".join(reversed(words))


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    return _Lexicon()  # ~1 s, once per process, and only when a message holds pinyin


def warm() -> None:
    """Builds the lexicon now (model loading), not in the first romanised message's request."""
    _lexicon()


def decode_pinyin(text: str) -> str:
    """``text`` with each run of toneless pinyin words replaced by characters."""
    if not _RUN.search(text):
        return text
    lexicon = _lexicon()

    def decoded(tokens: list[str]) -> str | None:
        syllables: list[str] = []
        for token in tokens:
            split = lexicon.split(token)
            if split is None:
                return None
            syllables += split
        return lexicon.decode(syllables) if len(syllables) >= 2 else " ".join(tokens)

    def replace(match: re.Match[str]) -> str:
        parts, run = [], []
        for token in [*match.group(0).split(" "), ""]:
            if token and not _CHAT_TOKEN.fullmatch(token):
                run.append(token)
                continue
            if run:
                text_of_run = decoded(run)
                if text_of_run is None:
                    return match.group(0)  # a word that is no pinyin: English, left as typed
                parts.append(text_of_run)
                run = []
            if token:
                parts.append(token)
        return " ".join(parts)

    return _RUN.sub(replace, text)
