"""Intent classification through a Rasa 3.6 server's ``POST /model/parse``.

Only the intent comes from Rasa; the crisis layer and entities stay local. Any failure
(refused, timeout, non-200, unexpected JSON) raises ``ClassifierUnavailable`` so the caller
falls back to the embedded model. Neither exceptions nor logs carry the message text.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import aiohttp

from intents.protocol import ClassifierUnavailable

log = logging.getLogger(__name__)

# Rasa's FallbackClassifier answers this when DIET is unsure; ours is called out_of_scope.
RASA_FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class RasaScores:
    """Satisfies ``intents.protocol.IntentScores``."""

    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


class RasaClassifier:
    """``IntentClassifier`` backed by a Rasa server; one reused HTTP session."""

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # Refined to the served model's file name after the first successful answer.
        self.version = "rasa"
        self._session: aiohttp.ClientSession | None = None
        self._version_asked = False

    async def classify(self, text: str) -> RasaScores:
        try:
            status, body = await self._post("/model/parse", {"text": text})
            if status != 200:
                raise _Malformed(f"status {status}")
            scores = parse_answer(json.loads(body))
        except _OUTAGES as exc:
            # The exception's own message may quote the response, which echoes the text.
            # INFO: the caller warns once per outage; this line gives each failure's reason.
            log.info("rasa unavailable at %s: %s", self.url, _describe(exc))
            raise ClassifierUnavailable(f"rasa unavailable: {_describe(exc)}") from None
        if not self._version_asked:
            self._version_asked = True
            await self._learn_version()
        return scores

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, path: str, payload: dict[str, Any]) -> tuple[int, bytes]:
        async with self._client().post(self.url + path, json=payload) as response:
            return response.status, await response.read()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def _learn_version(self) -> None:
        """Best effort: ``/status`` names the loaded model, which makes results traceable."""
        try:
            async with self._client().get(self.url + "/status") as response:
                if response.status != 200:
                    return
                model_file = json.loads(await response.read()).get("model_file")
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError, AttributeError):
            return
        if isinstance(model_file, str) and model_file:
            self.version = "rasa:" + model_file.replace("\\", "/").rsplit("/", 1)[-1]


class _Malformed(Exception):
    """The server answered, but not with a usable parse result."""


# Everything that means "Rasa could not give an answer"; ValueError covers bad JSON and UTF-8.
_OUTAGES = (aiohttp.ClientError, TimeoutError, OSError, ValueError, RecursionError, _Malformed)


def parse_answer(answer: Any) -> RasaScores:
    """Turns Rasa's parse JSON into scores, mapping ``nlu_fallback`` to ``out_of_scope``."""
    if not isinstance(answer, dict) or not isinstance(answer.get("intent"), dict):
        raise _Malformed("no intent")
    top = answer["intent"]
    if top.get("name") is None:
        # Rasa answers a null intent for text with no tokens (e.g. only punctuation).
        name, confidence = OUT_OF_SCOPE, 0.0
    else:
        name, confidence = _name(top.get("name")), _confidence(top.get("confidence"))
    raw_ranking = answer.get("intent_ranking", [])
    if not isinstance(raw_ranking, list):
        raise _Malformed("bad ranking")
    ranking: dict[str, float] = {}
    for item in raw_ranking:
        if not isinstance(item, dict):
            raise _Malformed("bad ranking item")
        item_name, item_conf = _name(item.get("name")), _confidence(item.get("confidence"))
        # Both nlu_fallback and a trained out_of_scope may appear: keep the stronger one.
        ranking[item_name] = max(item_conf, ranking.get(item_name, 0.0))
    ordered = tuple(sorted(ranking.items(), key=lambda pair: pair[1], reverse=True))
    return RasaScores(name, confidence, ordered)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _Malformed("bad intent name")
    return OUT_OF_SCOPE if value == RASA_FALLBACK_INTENT else value


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Malformed("bad confidence")
    if not 0.0 <= value <= 1.0:
        raise _Malformed("confidence out of range")
    return float(value)


def _describe(exc: BaseException) -> str:
    """A log-safe reason: the exception type, plus our own fixed wording when it is ours."""
    if isinstance(exc, _Malformed):
        return f"unexpected answer ({exc})"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__
