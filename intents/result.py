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


@dataclass(frozen=True)
class Risk:
    level: RiskLevel = RiskLevel.NONE
    # Which kind of crisis the cues point at: "suicide", "violence" or None.
    kind: str | None = None
    # Matched cues, in the words a social worker can read at a glance.
    reasons: tuple[str, ...] = ()

    @property
    def crisis(self) -> bool:
        return self.level.rank >= RiskLevel.MEDIUM.rank

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "crisis": self.crisis,
            "kind": self.kind,
            "reasons": list(self.reasons),
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
