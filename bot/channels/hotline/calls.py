"""One call's transcript through the pipeline: the one data path of the webhook and the import.

Each segment taken as the caller's words (``her_words``) becomes one message, in order, so her
earlier words in the call reach the classifier as history; the transcript's new segments are
handed over together, stored and decided in one transaction, so a crisis in a call still
going on escalates as soon as its transcript arrives. The message's external id is the call id, the
segment's position and a digest of its words: a transcript taken again (in progress, then
final, resent, or imported twice) handles only segments not seen before, and a segment whose
words speech recognition revised is heard again. A final transcript also records the call's
end in her thread, in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.channels.hotline.her_words import IvrPrompts, Utterance, her_words
from bot.channels.hotline.transcript import Transcript
from bot.gateway import Gateway
from bot.message import (
    CALL_CHANNEL,
    IdentityKind,
    InboundMessage,
    Outcome,
    PartlyTaken,
    PhoneCall,
    SpokenSegment,
    Taken,
    Together,
)
from intents import RiskLevel

log = logging.getLogger("careline.channels.hotline")


@dataclass(frozen=True)
class CallTaken:
    answer: dict[str, Any]  # ``call_answer``: ids, counts and levels, no words, no number
    unhandled: int  # segments stored but not handled yet (handled once their lease runs out)


class CallsPartlyTaken(Exception):
    """Only the first ``len(taken)`` calls of a batch were stored (``taken`` answers them);
    the rest were not (``__cause__`` says why)."""

    def __init__(self, taken: list[CallTaken]) -> None:
        super().__init__(f"the first {len(taken)} calls were stored, the next could not be")
        self.taken = taken


async def take_call(gateway: Gateway, transcript: Transcript, prompts: IvrPrompts) -> CallTaken:
    """Hand the call's new segments and, once final, its end to the pipeline together: stored
    and decided in one transaction.

    When they cannot be stored this raises and nothing of them is kept (the call system, or a
    rerun of the import, sends them again); one stored but not handled is counted in
    ``unhandled``.
    """
    return (await take_calls(gateway, [transcript], prompts))[0]


async def take_calls(
    gateway: Gateway, transcripts: list[Transcript], prompts: IvrPrompts
) -> list[CallTaken]:
    """``take_call`` for several calls at once (the import): all stored and decided in one
    transaction (a caller met again in the batch in one of its own: ``CallsPartlyTaken``
    when only the transactions before hers went in)."""
    groups = [
        Together(
            tuple(_segment_message(t, u) for u in her_words(t.segments, prompts)),
            _end_of_call(t) if t.final else None,
        )
        for t in transcripts
    ]
    try:
        taken = await gateway.submit_batch(groups)
    except PartlyTaken as partly:
        stored = transcripts[: len(partly.taken)]
        answered = [await _answer(t, each) for t, each in zip(stored, partly.taken, strict=True)]
        raise CallsPartlyTaken(answered) from partly.__cause__
    return [await _answer(t, each) for t, each in zip(transcripts, taken, strict=True)]


async def _answer(transcript: Transcript, taken: Taken) -> CallTaken:
    outcomes: list[Outcome] = []
    unhandled = 0
    for outcome_future in taken.outcomes:
        try:
            outcomes.append(await outcome_future)
        except Exception as exc:
            log.error("hotline: stored segment not handled yet: %s", type(exc).__name__)
            unhandled += 1
    return CallTaken(call_answer(transcript, outcomes, ended_now=taken.recorded), unhandled)


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
        channel=CALL_CHANNEL,
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
        channel=CALL_CHANNEL,
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
