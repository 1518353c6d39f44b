"""Static word vectors: a small table built with the real model, and the machine's table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intents import word_vectors
from intents.word_vectors import WordVectors

ENTRIES = [("的", 5000), ("自杀", 40), ("轻生", 8), ("西瓜", 30), ("烟头", 2), ("我", 4000)]


def test_the_vocabulary_keeps_frequent_words_and_every_character() -> None:
    words, weights = word_vectors.vocabulary(ENTRIES)
    assert "烟头" not in words  # too rare: read through 烟 and 头
    assert {"自杀", "轻生", "西瓜", "烟", "头", "的"} <= set(words)
    weight = dict(zip(words, weights, strict=True))
    assert weight["的"] < weight["自杀"] < weight["轻生"] <= 1.0


@pytest.fixture(scope="module")
def small_table(tmp_path_factory: pytest.TempPathFactory) -> WordVectors:
    directory = tmp_path_factory.mktemp("vectors") / "table"
    return WordVectors(word_vectors.build(directory, ENTRIES))


def test_a_word_the_table_lacks_is_read_through_its_characters(small_table: WordVectors) -> None:
    rows = [small_table.rows["烟"], small_table.rows["头"]]
    expected = small_table.weights[rows] @ np.asarray(small_table.vectors[rows], dtype=np.float32)
    expected /= np.linalg.norm(expected)
    assert np.allclose(small_table.sentence(["烟头"]), expected, atol=1e-6)


def test_a_message_is_one_unit_vector_and_nothing_known_is_zero(small_table: WordVectors) -> None:
    assert np.linalg.norm(small_table.sentence(["我", "自杀"])) == pytest.approx(1.0, abs=1e-5)
    assert not small_table.sentence(["zi", "sha", "123"]).any()
    assert not small_table.sentence([]).any()


def test_a_rebuild_replaces_a_table_left_without_its_weights(tmp_path: Path) -> None:
    directory = tmp_path / "table"
    directory.mkdir()
    (directory / word_vectors.WORDS_FILE).write_text("旧\n", encoding="utf-8")
    table = WordVectors(word_vectors.build(directory, ENTRIES))
    assert "旧" not in table.rows and "自杀" in table.rows
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no staging
    assert directory.stat().st_mode & 0o777 == 0o755  # readable by a service's own user


def test_the_machines_table_places_words_by_meaning() -> None:
    table = word_vectors.load()  # built once per machine into the cache (the classifier's)

    def similarity(a: str, b: str) -> float:
        return float(table.sentence([a]) @ table.sentence([b]))

    assert similarity("自杀", "轻生") > similarity("自杀", "西瓜")
    assert similarity("打", "揍") > similarity("打", "睡觉")
    assert len(table.rows) > 100_000
