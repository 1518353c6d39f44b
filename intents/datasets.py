"""Reading labelled messages: Rasa 3 NLU YAML (training data) and the PsyGUARD JSON dev set."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

# Rasa entity annotations: [明天下午三点](time) or [text]{"entity": ...} → text.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")

# PsyGUARD labels → the group they are measured in.
SUICIDE_LABELS = frozenset(
    {"被动自杀意图", "主动自杀意图", "自杀计划", "自杀准备行为", "自杀未遂", "自伤意图", "自伤行为"}
)
AGGRESSION_LABELS = frozenset({"他人攻击行为", "用户攻击行为"})
UNRELATED_LABEL = "与自杀/自伤/攻击行为无关"
EXPLORATION_LABEL = "关于自杀的探索"


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    # Tag from the block's metadata, e.g. "hyperbole" for hard negatives.
    negative: str | None = None
    # Source labels for external sets (PsyGUARD), used to report recall per label group.
    labels: tuple[str, ...] = ()
    # Warning-sign family of a crisis example (``metadata: {family: ...}``), for
    # leave-one-family-out evaluation.
    family: str | None = None


def read_rasa_yaml(path: Path) -> list[Example]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: list[Example] = []
    for block in raw.get("nlu") or ():
        if "intent" not in block:
            continue  # synonyms, regexes and lookups are not training examples
        metadata = block.get("metadata") or {}
        if not isinstance(metadata, dict):
            metadata = {}
        negative, family = metadata.get("negative"), metadata.get("family")
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if not line.startswith("- "):
                continue
            text = _ANNOTATION.sub(r"\1", line[2:].strip())
            if text:
                examples.append(Example(text, str(block["intent"]), negative, family=family))
    return examples


def training_files(data_dir: Path) -> list[Path]:
    """The NLU training files: the project's data is ``nlu.yml``; any other ``nlu*.yml``
    beside it (a local addition, a test's extra intents) is read too."""
    return sorted(data_dir.glob("nlu*.yml"))


def read_training_data(data_dir: Path) -> list[Example]:
    files = training_files(data_dir)
    if not files:
        raise FileNotFoundError(f"no nlu*.yml training files in {data_dir}")
    return [example for path in files for example in read_rasa_yaml(path)]


# External crisis corpora trained on beside the project's data (see data/PSYGUARD_SOURCE.md).
CRISIS_CORPUS = "psyguard_valid.json"


def crisis_corpus_files(data_dir: Path) -> list[Path]:
    path = data_dir / CRISIS_CORPUS
    return [path] if path.exists() else []


def read_crisis_corpus(data_dir: Path) -> list[Example]:
    """PsyGUARD's valid split as training examples: unrelated texts are mostly counselling talk
    (distress without crisis signs); 关于自杀的探索 is left out, as it teaches neither side."""
    return [
        trained
        for path in crisis_corpus_files(data_dir)
        for example in read_psyguard_json(path)
        if (trained := to_training_example(example)) is not None
    ]


def to_training_example(example: Example) -> Example | None:
    """A PsyGUARD example as the intent it trains, or None when it trains nothing."""
    if set(example.labels) & (SUICIDE_LABELS | AGGRESSION_LABELS):
        return example
    if UNRELATED_LABEL in example.labels:
        return replace(example, intent="emotional_distress")
    return None


def psyguard_intent(labels: Iterable[str]) -> str:
    """The Careline intent a PsyGUARD label implies (exploration counts as suicide talk)."""
    labels = set(labels)
    if labels & SUICIDE_LABELS:
        return "crisis_suicide"
    if labels & AGGRESSION_LABELS:
        return "crisis_violence"
    if EXPLORATION_LABEL in labels:
        return "crisis_suicide"
    return "out_of_scope"


def read_psyguard_json(path: Path) -> list[Example]:
    items = json.loads(path.read_text(encoding="utf-8"))
    return [
        Example(str(item["text"]), psyguard_intent(item["labels"]), labels=tuple(item["labels"]))
        for item in items
    ]


def read_dataset(path: Path) -> list[Example]:
    """Rasa NLU YAML (a file or a directory of ``nlu*.yml``) or PsyGUARD-style JSON."""
    if path.is_dir():
        return read_training_data(path)
    if path.suffix.lower() == ".json":
        return read_psyguard_json(path)
    return read_rasa_yaml(path)
