"""Hotline calls and the segments of them that are her messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from storage.models import CallStatus, HotlineCall, HotlineSegment, Message
from storage.queries._upsert import insert_unless_duplicate


async def note_call(
    session: AsyncSession,
    *,
    call_id: str,
    person_id: int,
    line: str,
    started_at: datetime,
    ended_at: datetime | None,
    agent_id: str | None,
    final: bool,
    now: datetime,
) -> HotlineCall:
    """The call, created on its first transcript and kept up to date by later ones.

    A call only moves forward: once final it stays final, and an answer or an end, once known,
    is not taken back by a late in-progress transcript.
    """
    values = {
        "call_id": call_id,
        "person_id": person_id,
        "line": line,
        "agent_id": agent_id,
        "status": CallStatus.FINAL if final else CallStatus.IN_PROGRESS,
        "started_at": started_at,
        "ended_at": ended_at,
        "risk_level": "none",
        "updated_at": now,
    }
    new_id = await insert_unless_duplicate(session, HotlineCall.__table__, values)  # type: ignore[attr-defined]
    if new_id is not None:
        # Written as it stands: attach it without reading it back.
        created = HotlineCall(id=new_id, **values)
        make_transient_to_detached(created)
        session.add(created)
        return created
    call = await session.scalar(
        select(HotlineCall).where(HotlineCall.call_id == call_id).with_for_update()
    )
    assert call is not None
    if agent_id and call.agent_id != agent_id:
        call.agent_id = agent_id
    if ended_at is not None and call.ended_at != ended_at:
        call.ended_at = ended_at
    if final and call.status != CallStatus.FINAL:
        call.status = CallStatus.FINAL
    if session.is_modified(call):
        call.updated_at = now
    return call


async def call_of_message(session: AsyncSession, message_id: int) -> HotlineCall | None:
    """The call a message was said in; None for any other message."""
    return await session.scalar(
        select(HotlineCall)
        .join(HotlineSegment, HotlineSegment.hotline_call_id == HotlineCall.id)
        .where(HotlineSegment.message_id == message_id)
    )


async def call_of_escalation(session: AsyncSession, escalation_id: int) -> HotlineCall | None:
    """The call of her latest message that opened or joined this escalation, if it was said in
    one (what a notice about it tells: still in progress? on which line?)."""
    return await session.scalar(
        select(HotlineCall)
        .join(HotlineSegment, HotlineSegment.hotline_call_id == HotlineCall.id)
        .join(Message, Message.id == HotlineSegment.message_id)
        .where(Message.escalation_id == escalation_id)
        .order_by(Message.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )
