"""The one interface the gateway classifies through, whatever the backend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from intents.result import ParseResult


class NLU(Protocol):
    """Classifies one message; the crisis layer always runs inside ``parse``.

    ``history`` holds the same person's recent earlier messages (oldest first), already
    limited by the caller to the configured window, so risk can rise across messages.
    ``now`` anchors relative time expressions (明天下午三点) and defaults to the wall clock.
    """

    model_version: str

    async def parse(
        self, text: str, *, history: Sequence[str] = (), now: datetime | None = None
    ) -> ParseResult: ...

    async def close(self) -> None: ...


class ClassifierUnavailable(Exception):
    """A classifier backend (e.g. a Rasa server) could not answer; the caller falls back."""


class IntentScores(Protocol):
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


class IntentClassifier(Protocol):
    """Intent only: no risk, no entities. Raises ``ClassifierUnavailable`` on an outage."""

    version: str

    async def classify(self, text: str) -> IntentScores: ...
