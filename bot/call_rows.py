"""Writing what a hotline call's messages change about the call, in the pipeline's transaction.

Each transcript the call system sends brings the call's facts (line, answer, end) with every
segment taken as her words; each segment's decision may raise the call's risk and opens or
continues the call's one contact, whose times are the call's own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from bot.message import PhoneCall, SpokenSegment
from intents import ParseResult, RiskLevel
from storage import queries
from storage.models import Contact, Escalation, HotlineCall, HotlineSegment, Message


async def note_call(
    session: AsyncSession, call: PhoneCall, *, person_id: int, now: datetime
) -> HotlineCall:
    """The call as its latest transcript says (its contact's times follow it)."""
    row = await queries.note_call(
        session,
        call_id=call.call_id,
        person_id=person_id,
        line=call.line,
        started_at=call.started_at,
        ended_at=call.ended_at,
        agent_id=call.agent_id,
        final=call.final,
        now=now,
    )
    if row.contact_id is not None:
        contact = await session.get(Contact, row.contact_id)
        if contact is not None:
            follow_the_call(contact, row)
    return row


def segment_row(call: HotlineCall, message: Message, segment: SpokenSegment) -> HotlineSegment:
    """Where in the call a message newly stored was said."""
    return HotlineSegment(
        hotline_call_id=call.id,  # type: ignore[arg-type]
        message_id=message.id,  # type: ignore[arg-type]
        position=segment.position,
        speaker=segment.speaker,
        start_seconds=segment.start_seconds,
        end_seconds=segment.end_seconds,
        confidence=segment.confidence,
    )


def after_decision(
    call: HotlineCall,
    message: Message,
    parse: ParseResult,
    contact: Contact | None,
    escalation: Escalation | None,
) -> None:
    """The call's contact, escalation and risk after one of its segments was decided."""
    if contact is not None:
        call.contact_id = contact.id
        follow_the_call(contact, call)
    if escalation is not None:
        call.escalation_id = escalation.id
    level = RiskLevel(parse.risk.level)
    if level.rank > RiskLevel(call.risk_level).rank:
        # Ties keep the earlier segment: the first time she said it.
        call.risk_level = level.value
        call.risk_message_id = message.id
    # Named even when unchanged: the calls of an import's transaction share one UPDATE.
    for column in ("contact_id", "escalation_id", "risk_level", "risk_message_id"):
        flag_modified(call, column)


def follow_the_call(contact: Contact, call: HotlineCall) -> None:
    """A call's contact lasts as long as the call, and was handled by whoever answered."""
    contact.started_at = call.started_at
    if call.ended_at is not None:
        contact.ended_at = call.ended_at
    if call.agent_id:
        contact.handled_by = call.agent_id
