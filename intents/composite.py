"""The NLU the gateway talks to: classifier + always-on crisis layer + entities."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial

from intents.crisis import CRISIS_INTENT, CrisisLayer
from intents.embedded import EmbeddedClassifier, classification
from intents.entities import EntityExtractor
from intents.protocol import ClassifierUnavailable, IntentClassifier, IntentScores
from intents.result import ParseResult, Risk
from intents.taxonomy import Intent

log = logging.getLogger(__name__)

# Classifier and entity parsers see at most this much of a message; the crisis layer reads all
# of it (a long message may say the important thing at the end).
MAX_CLASSIFIED_CHARS = 4000
# Messages (with their history) longer than this are assessed in a worker thread; short ones,
# nearly all of them, take well under a millisecond and run inline.
LONG_TEXT_CHARS = 2000
# Rasa's FallbackClassifier names its intent this way.
_RASA_FALLBACK = "nlu_fallback"
_KIND_OF_INTENT = {intent: kind for kind, intent in CRISIS_INTENT.items()}


class CompositeNLU:
    def __init__(
        self,
        *,
        embedded: EmbeddedClassifier,
        crisis: CrisisLayer,
        entities: EntityExtractor,
        threshold: float,
        backend: IntentClassifier | None = None,
    ) -> None:
        self.embedded = embedded
        self.crisis = crisis
        self.entities = entities
        self.threshold = threshold
        self.backend = backend
        self.fallbacks = 0  # messages classified by the embedded model during a backend outage
        self._backend_down = False

    @property
    def model_version(self) -> str:
        # Read each time: a Rasa client learns its model's name on its first answer.
        parts = [self.backend.version] if self.backend is not None else []
        cues = self.crisis.config
        parts += [self.embedded.version, f"crisis-v{cues.version}.{cues.digest}"]
        return "+".join(parts)

    async def _classify(self, text: str, embedded_scores: IntentScores) -> IntentScores:
        if self.backend is None:
            return embedded_scores
        try:
            scores = await self.backend.classify(text)
        except ClassifierUnavailable:
            self.fallbacks += 1
            if not self._backend_down:
                log.warning("intent backend unavailable; classifying with the embedded model")
                self._backend_down = True
            return embedded_scores
        if self._backend_down:
            log.info("intent backend answering again after %d fallback(s)", self.fallbacks)
            self._backend_down = False
        return scores

    async def parse(
        self, text: str, *, history: Sequence[str] = (), now: datetime | None = None
    ) -> ParseResult:
        head = text[:MAX_CLASSIFIED_CHARS]
        probabilities = self.embedded.probabilities(head)
        embedded_scores = classification(probabilities)
        scores = await self._classify(head, embedded_scores)
        intent, confidence = scores.intent, scores.confidence
        ranking = tuple(scores.ranking)
        if intent == _RASA_FALLBACK or confidence < self.threshold:
            # As Rasa's FallbackClassifier: the fallback carries the threshold as confidence.
            intent, confidence = Intent.OUT_OF_SCOPE.value, self.threshold
        # The classifiers' own top answers, before the fallback: a crisis ranked first is
        # evidence the crisis layer must weigh, never something to relabel quietly.
        backend_first = None if scores is embedded_scores else _KIND_OF_INTENT.get(scores.intent)
        assess = partial(
            self.crisis.assess,
            text,
            history,
            self.embedded.crisis_probabilities(probabilities),
            ranked_first=_KIND_OF_INTENT.get(embedded_scores.intent),
            backend_ranked_first=backend_first,
            ranked_second=_second_kind(embedded_scores.ranking),
            first_intent=embedded_scores.intent,
            # asked only of a guess that decides a level: the words cost a second reading
            model_words=partial(self.embedded.leaning_words, head, probabilities),
        )
        if len(text) + sum(map(len, history)) > LONG_TEXT_CHARS:
            # ~25 ms per 1,000 characters of regex work: off the event loop for long texts.
            risk = await asyncio.to_thread(assess)
        else:
            risk = assess()
        intent, confidence = _final_intent(
            intent, confidence, scores, probabilities, risk, self.threshold
        )
        if len(head) > LONG_TEXT_CHARS:
            entities = await asyncio.to_thread(self.entities.extract, head, now)
        else:
            entities = self.entities.extract(head, now)
        return ParseResult(text, intent, confidence, ranking, entities, risk, self.model_version)

    async def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if close is not None:
            await close()


def _second_kind(ranking: Sequence[tuple[str, float]]) -> str | None:
    """The crisis kind the embedded model ranked second, if it did."""
    return _KIND_OF_INTENT.get(ranking[1][0]) if len(ranking) > 1 else None


def _final_intent(
    intent: str,
    confidence: float,
    scores: IntentScores,
    probabilities: Mapping[str, float],
    risk: Risk,
    threshold: float,
) -> tuple[str, float]:
    """The intent the risk implies, with a confidence that is that intent's own (the fallback
    carries the threshold, as everywhere)."""
    if risk.crisis and risk.kind:
        crisis_intent = CRISIS_INTENT[risk.kind]
        if scores.intent == crisis_intent:
            return crisis_intent, scores.confidence  # the classifier said so itself
        # The crisis layer overrules the classifier: a rule decision, full confidence.
        return crisis_intent, 1.0
    if intent in _KIND_OF_INTENT:
        # A crisis the layer did not take as hers: someone else's (concern_for_other), a
        # resolved past, a denial, a story, an idiom, a first ranking below its floor. The
        # classifier's best non-crisis answer, with that answer's probability; but when that
        # answer is unsure and her words name a warning sign (discounted), she is talking about
        # distress: 以前想过自杀 现在好多了 is no money question.
        ranking = [(name, p) for name, p in scores.ranking if name not in _KIND_OF_INTENT]
        distress = Intent.EMOTIONAL_DISTRESS.value
        named = any(item.source == "cue" for item in risk.evidence)
        if ranking and (ranking[0][1] >= threshold or not named):
            return ranking[0]
        return distress, dict(scores.ranking).get(distress, probabilities.get(distress, 0.0))
    return intent, confidence
