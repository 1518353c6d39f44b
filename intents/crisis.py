"""The crisis layer: always runs, whatever the classifier says.

Weighted cues from ``data/crisis.yml`` are matched on folded text (simplified, half-width,
Cantonese → Mandarin, no spaces) after masking hyperbole (累死了, 笑死, 想死你们了). Each
kind of crisis (suicide incl. self-harm, violence) gets a score; the level follows from the
thresholds in the file. Recent messages of the same person add to a message that has a signal
of its own, and the embedded classifier's crisis probability can raise the level, so indirect
talk that no cue names is still escalated.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from intents import texts
from intents.normalize import CACHED_TEXT_CHARS, fold_for_matching
from intents.result import Risk, RiskLevel

KINDS = ("suicide", "violence")
CRISIS_INTENT = {"suicide": "crisis_suicide", "violence": "crisis_violence"}
DEFAULT_CUES = Path(__file__).parent / "data" / "crisis.yml"
_MAX_REASONS = 6


@dataclass(frozen=True)
class Cue:
    id: str
    kind: str
    weight: float
    reason: str
    pattern: re.Pattern[str]
    discount: bool = False  # weighs less in reported speech (news, films, others' stories)
    requires_other: bool = False  # counts only next to a medium-level signal of its kind


@dataclass(frozen=True)
class CueHit:
    cue: Cue
    matched: str
    weight: float


@dataclass(frozen=True)
class Signal:
    """What one message alone says."""

    hits: tuple[CueHit, ...]
    reported: bool

    def score(self, kind: str) -> float:
        return sum(hit.weight for hit in self.hits if hit.cue.kind == kind)


@dataclass(frozen=True)
class CrisisConfig:
    version: int
    digest: str  # of the cue file, so model_version names the exact cues in use
    thresholds: tuple[tuple[RiskLevel, float], ...]  # highest level first
    history_weight: float
    history_cap: float
    model_medium: float
    model_high: float
    model_with_cue: float
    reported_factor: float
    reported: re.Pattern[str]
    hyperbole: re.Pattern[str]
    cues: tuple[Cue, ...]

    @classmethod
    def load(cls, path: Path = DEFAULT_CUES) -> CrisisConfig:
        source = path.read_bytes()
        raw: dict[str, Any] = yaml.safe_load(source.decode("utf-8"))
        levels = raw["levels"]
        thresholds = tuple(
            sorted(
                ((RiskLevel(name), float(score)) for name, score in levels.items()),
                key=lambda pair: pair[1],
                reverse=True,
            )
        )
        cues = tuple(
            Cue(
                id=item["id"],
                kind=item["kind"],
                weight=float(item["weight"]),
                reason=item["reason"],
                pattern=_alternation(item["patterns"]),
                discount=bool(item.get("discount", False)),
                requires_other=bool(item.get("requires_other", False)),
            )
            for item in raw["cues"]
        )
        unknown = {cue.kind for cue in cues} - set(KINDS)
        if unknown:
            raise ValueError(f"unknown crisis kind(s) in {path}: {sorted(unknown)}")
        return cls(
            version=int(raw.get("version", 0)),
            digest=hashlib.sha256(source).hexdigest()[:8],
            thresholds=thresholds,
            history_weight=float(raw["history"]["weight"]),
            history_cap=float(raw["history"]["cap"]),
            model_medium=float(raw["model"]["medium"]),
            model_high=float(raw["model"]["high"]),
            model_with_cue=float(raw["model"]["with_cue"]),
            reported_factor=float(raw["reported"]["factor"]),
            reported=_alternation(raw["reported"]["patterns"]),
            hyperbole=_alternation(raw["hyperbole"]),
            cues=cues,
        )

    def level_for(self, score: float) -> RiskLevel:
        return next((level for level, start in self.thresholds if score >= start), RiskLevel.NONE)


def _alternation(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


def _compact(text: str) -> str:
    # Speech-to-text and evasive spelling put spaces inside words (不 想 活).
    return fold_for_matching(text).replace(" ", "")


class CrisisLayer:
    def __init__(self, config: CrisisConfig | None = None) -> None:
        self.config = config or CrisisConfig.load()
        self._cached_signal = lru_cache(maxsize=4096)(self._signal)

    def signal(self, text: str) -> Signal:
        """What ``text`` alone says; cached for short texts (history repeats them)."""
        if len(text) > CACHED_TEXT_CHARS:
            return self._signal(text)
        return self._cached_signal(text)

    def _signal(self, text: str) -> Signal:
        config = self.config
        compact = _compact(text)
        masked = config.hyperbole.sub(lambda m: "_" * len(m.group(0)), compact)
        reported = bool(config.reported.search(masked))
        hits: list[CueHit] = []
        for cue in config.cues:
            if match := cue.pattern.search(masked):
                weight = cue.weight * (config.reported_factor if reported and cue.discount else 1)
                hits.append(CueHit(cue, match.group(0), weight))
        medium = _start(config, RiskLevel.MEDIUM)
        kept = [
            hit
            for hit in hits
            if not hit.cue.requires_other
            or sum(
                other.weight
                for other in hits
                if other.cue.kind == hit.cue.kind and not other.cue.requires_other
            )
            >= medium
        ]
        return Signal(tuple(kept), reported)

    def assess(
        self,
        text: str,
        history: Sequence[str] = (),
        model_probabilities: Mapping[str, float] | None = None,
    ) -> Risk:
        """Risk of ``text`` given the same person's recent ``history`` (oldest first) and the
        embedded classifier's intent probabilities."""
        config = self.config
        current = self.signal(text)
        earlier = [self.signal(message) for message in history]
        probabilities = model_probabilities or {}
        best: tuple[int, float, str] = (RiskLevel.NONE.rank, 0.0, KINDS[0])
        extra: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for kind in KINDS:
            score = current.score(kind)
            if score > 0 and earlier:
                added = min(
                    config.history_cap,
                    config.history_weight * sum(signal.score(kind) for signal in earlier),
                )
                if added > 0:
                    score += added
                    extra[kind].extend(
                        texts.history_reason(hit.cue.reason, hit.matched)
                        for signal in reversed(earlier)
                        for hit in signal.hits
                        if hit.cue.kind == kind
                    )
            level = config.level_for(score)
            raised = self._model_level(level, probabilities.get(CRISIS_INTENT[kind], 0.0))
            if raised.rank > level.rank:
                level = raised
                extra[kind].append(texts.model_reason(kind, probabilities[CRISIS_INTENT[kind]]))
            best = max(best, (level.rank, score, kind), key=lambda item: (item[0], item[1]))
        rank, _, kind = best
        level = list(RiskLevel)[rank]
        if level is RiskLevel.NONE:
            return Risk()
        own = sorted((hit for hit in current.hits if hit.cue.kind == kind), key=lambda h: -h.weight)
        reasons = [texts.cue_reason(hit.cue.reason, hit.matched) for hit in own]
        reasons += extra[kind]
        if current.reported and any(hit.cue.discount for hit in own):
            reasons.append(texts.reported_reason())
        return Risk(level, kind, tuple(dict.fromkeys(reasons))[:_MAX_REASONS])

    def model_reasons(self, kind: str, probability: float) -> tuple[str, ...]:
        """Why a classifier's crisis intent alone escalates a message."""
        return (texts.model_reason(kind, probability),)

    def _model_level(self, level: RiskLevel, probability: float) -> RiskLevel:
        config = self.config
        has_cue = level.rank >= RiskLevel.LOW.rank
        if has_cue and probability >= config.model_high:
            return RiskLevel.HIGH
        if probability >= config.model_medium or (has_cue and probability >= config.model_with_cue):
            return RiskLevel.MEDIUM
        return RiskLevel.NONE


def _start(config: CrisisConfig, level: RiskLevel) -> float:
    return next(start for candidate, start in config.thresholds if candidate is level)
