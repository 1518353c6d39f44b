"""What the NLU returns: Rasa's parse format plus a crisis-risk block."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class RiskLevel(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    IMMINENT = "imminent"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def highest(cls, *levels: RiskLevel) -> RiskLevel:
        return max(levels, key=lambda level: level.rank, default=cls.NONE)


_RANK = {level: i for i, level in enumerate(RiskLevel)}


# Risk kinds. Someone else at risk (her sister says she wants to die, a neighbour's child is
# beaten) is escalated for a worker to look at, but it is not the writer's own crisis.
OWN_KINDS = ("suicide", "violence")
CONCERN_FOR_OTHER = "concern_for_other"


@dataclass(frozen=True)
class Evidence:
    """One piece of what the crisis layer weighed, for the worker and for audits."""

    source: str  # "cue" (a warning-sign family), "model", "intent", "history", "context"
    name: str  # family id, or the model / context it came from
    label: str  # Chinese, what a worker reads
    weight: float  # cue points, or a probability for "model" and "intent"
    matched: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Risk:
    level: RiskLevel = RiskLevel.NONE
    # "suicide", "violence", "concern_for_other" or None.
    kind: str | None = None
    # What was found, in the words a social worker can read at a glance.
    reasons: tuple[str, ...] = ()
    # The detail behind the level, for the worker and audits. Not part of equality: a risk
    # stored as level, kind and reasons (as the pipeline keeps it) is the same risk read back.
    # Cue points of the kind after context, history included (the level's thresholds apply).
    score: float = field(default=0.0, compare=False)
    # The classifier's calibrated probability for this kind's crisis intent.
    probability: float = field(default=0.0, compare=False)
    evidence: tuple[Evidence, ...] = field(default=(), compare=False)

    @property
    def for_another(self) -> bool:
        """Someone else is at risk (concern_for_other): a worker is told; it is not hers."""
        return self.kind == CONCERN_FOR_OTHER

    @property
    def crisis(self) -> bool:
        """The writer's own crisis at medium or above (concern for another escalates by its
        level, but is not her crisis)."""
        return self.level.rank >= RiskLevel.MEDIUM.rank and not self.for_another

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "crisis": self.crisis,
            "kind": self.kind,
            "reasons": list(self.reasons),
            "score": round(self.score, 3),
            "probability": round(self.probability, 4),
            "evidence": [item.to_dict() for item in self.evidence],
        }


@dataclass(frozen=True)
class Entity:
    entity: str  # "time", "phone", "children_count"
    value: Any  # ISO-8601 string for times, digits for phones, int for counts
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ParseResult:
    text: str
    intent: str
    confidence: float
    intent_ranking: tuple[tuple[str, float], ...] = ()
    entities: tuple[Entity, ...] = ()
    risk: Risk = field(default_factory=Risk)
    model_version: str = ""

    def entity(self, name: str) -> Entity | None:
        return next((e for e in self.entities if e.entity == name), None)

    def to_dict(self) -> dict[str, Any]:
        """Rasa's ``/model/parse`` shape, plus ``risk``."""
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": round(self.confidence, 4)},
            "intent_ranking": [
                {"name": name, "confidence": round(conf, 4)} for name, conf in self.intent_ranking
            ],
            "entities": [e.to_dict() for e in self.entities],
            "risk": self.risk.to_dict(),
            "model_version": self.model_version,
        }
