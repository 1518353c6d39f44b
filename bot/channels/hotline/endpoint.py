"""The hotline transcript webhook at ``POST /hotline/transcripts``.

Each segment taken as the caller's words (``her_words``) becomes one message for the pipeline,
in order, so her earlier words in the call reach the classifier as history; a crisis in a call
still going on escalates as soon as its transcript arrives. The message's external id is the
call id, the segment's position and a digest of its words: a transcript posted again (in
progress, then final, or resent) handles only segments not seen before, and a segment whose
words speech recognition revised is heard again. A final transcript also records the call's
end in her thread. The answer says what Careline made of the call, never what was said.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.channels.hotline.her_words import IvrPrompts, Utterance, her_words
from bot.channels.hotline.transcript import Transcript
from bot.channels.json_body import BadJson, read_json
from bot.channels.signed_webhook import TimestampedWebhook, WebhookRejected
from bot.channels.stats import ChannelStats
from bot.config import HotlineConfig
from bot.gateway import Gateway
from bot.message import (
    CALL_CHANNEL,
    IdentityKind,
    InboundMessage,
    Outcome,
    PhoneCall,
    SpokenSegment,
)
from bot.secrets import Secrets
from intents import RiskLevel

log = logging.getLogger("careline.channels.hotline")

CHANNEL = CALL_CHANNEL
PATH = "/hotline/transcripts"


class HotlineEndpoint:
    def __init__(
        self,
        *,
        gateway: Gateway,
        webhook: TimestampedWebhook,
        prompts: IvrPrompts,
        stats: ChannelStats,
    ) -> None:
        self.gateway = gateway
        self.webhook = webhook
        self.prompts = prompts
        self.stats = stats

    def route(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._rejected(413, "too_large")
        try:
            self.webhook.verify(request.headers, body)
        except WebhookRejected as exc:
            return self._rejected(exc.status, exc.reason)
        try:
            transcript = Transcript.model_validate(read_json(body))
        except BadJson as exc:
            return self._rejected(400, exc.reason, str(exc))
        except ValidationError as exc:
            return self._rejected(400, "malformed_transcript", _first_problem(exc))
        outcomes: list[Outcome] = []
        unhandled = 0
        for utterance in her_words(transcript.segments, self.prompts):
            outcome_future = await self.gateway.submit(_segment_message(transcript, utterance))
            try:
                outcomes.append(await outcome_future)
            except Exception as exc:
                # Stored, but not handled yet: handled once its lease runs out. Her later
                # segments still go in.
                log.error("hotline: stored segment not handled yet: %s", type(exc).__name__)
                unhandled += 1
        ended_now = False
        if transcript.final:
            ended_now = await self.gateway.record(_end_of_call(transcript))
        answer = call_answer(transcript, outcomes, ended_now=ended_now)
        log.info(
            "hotline: call %s (%s): %d new segments, risk %s, escalated %s",
            transcript.call_id,
            transcript.status,
            answer["new_segments"],
            answer["risk_level"],
            answer["escalated"],
        )
        if unhandled:
            return web.json_response(answer | {"stored": True, "unhandled": unhandled}, status=202)
        return web.json_response(answer)

    def _rejected(self, status: int, reason: str, problem: str | None = None) -> web.Response:
        self.stats.reject(CHANNEL, reason)
        if problem is None:
            return web.Response(status=status)
        return web.json_response({"error": problem}, status=status)


def call_answer(
    transcript: Transcript, outcomes: list[Outcome], *, ended_now: bool
) -> dict[str, Any]:
    """What Careline made of the call so far: ids, counts and levels, no words, no number."""
    new = sum(not o.duplicate for o in outcomes)
    seen_before = any(o.duplicate for o in outcomes) or (transcript.final and not ended_now)
    risk = RiskLevel.highest(
        *(RiskLevel(o.classification.risk.level) for o in outcomes if o.classification)
    )
    escalation = next((o.escalation for o in reversed(outcomes) if o.escalation), None)
    contact = next((o.contact for o in reversed(outcomes) if o.contact), None)
    return {
        "call_id": transcript.call_id,
        "status": transcript.status,
        "duplicate": seen_before and new == 0 and not ended_now,
        "new_segments": new,
        "person": outcomes[0].person if outcomes else None,
        "risk_level": risk.value,
        "escalated": escalation is not None,
        "escalation_id": escalation["id"] if escalation else None,
        "contact_id": contact["id"] if contact else None,
    }


def _call(transcript: Transcript, segment: SpokenSegment | None) -> PhoneCall:
    return PhoneCall(
        call_id=transcript.call_id,
        line=transcript.line,
        started_at=transcript.started_at,
        ended_at=transcript.ended_at,
        agent_id=transcript.agent_id,
        final=transcript.final,
        segment=segment,
    )


def _segment_message(transcript: Transcript, utterance: Utterance) -> InboundMessage:
    segment = utterance.segment
    digest = hashlib.sha256(utterance.text.encode()).hexdigest()[:12]
    sender_id, sender_kind = _caller(transcript)
    return InboundMessage(
        channel=CHANNEL,
        sender_id=sender_id,
        sender_kind=sender_kind,
        text=utterance.text,
        sent_at=transcript.started_at + timedelta(seconds=segment.start),
        external_id=f"{transcript.call_id}:{utterance.position}:{digest}",
        conversation_id=transcript.call_id,
        call=_call(
            transcript,
            SpokenSegment(
                position=utterance.position,
                speaker=segment.speaker,
                start_seconds=segment.start,
                end_seconds=segment.end,
                confidence=segment.confidence,
            ),
        ),
    )


def _end_of_call(transcript: Transcript) -> InboundMessage:
    """The call itself, in her thread (type and time, no words): she called, even if she said
    nothing Careline could hear."""
    assert transcript.ended_at is not None
    sender_id, sender_kind = _caller(transcript)
    return InboundMessage(
        channel=CHANNEL,
        sender_id=sender_id,
        sender_kind=sender_kind,
        text="",
        sent_at=transcript.ended_at,
        external_id=f"{transcript.call_id}:end",
        content_type="call",
        conversation_id=transcript.call_id,
        call=_call(transcript, None),
    )


def _caller(transcript: Transcript) -> tuple[str, IdentityKind]:
    """Her number (one person per number: the identity hash normalises its spelling), or, when
    she withheld it, the call: a crisis from a hidden number is escalated all the same."""
    if transcript.caller is None:
        return transcript.call_id, IdentityKind.WITHHELD_CALLER
    return transcript.caller, IdentityKind.PHONE


def _first_problem(exc: ValidationError) -> str:
    """Where the body is wrong, never the value it held (it may be her words or number)."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def build(
    gateway: Gateway, config: HotlineConfig, secrets: Secrets, stats: ChannelStats
) -> HotlineEndpoint:
    # The window is measured on the service's clock (a test's fixed clock included).
    webhook = TimestampedWebhook(
        secrets.require("hotline_hmac_secret"), clock=lambda: gateway.clock.now().timestamp()
    )
    return HotlineEndpoint(
        gateway=gateway, webhook=webhook, prompts=IvrPrompts(config.ivr_prompts), stats=stats
    )
