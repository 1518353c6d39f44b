"""A mother's case as staff read it: her messages across channels with their
classifications, contacts, escalations and their history, follow-ups, identities, notes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEvent,
    CaseNote,
    Classification,
    Contact,
    Escalation,
    FollowUp,
    HotlineSegment,
    Identity,
    Message,
)
from storage.queries.escalations import UNRESOLVED
from storage.queries.queue import Holder, held_by


async def case_messages(
    session: AsyncSession, person_id: int, *, limit: int
) -> list[tuple[Message, Classification | None, HotlineSegment | None]]:
    """Her latest messages, both ways, oldest first, each with its classification (inbound)
    and, for words said in a hotline call, the segment they were said in."""
    rows = await session.execute(
        select(Message, Classification, HotlineSegment)
        .outerjoin(Classification, Classification.message_id == Message.id)
        .outerjoin(HotlineSegment, HotlineSegment.message_id == Message.id)
        .where(Message.person_id == person_id)
        .order_by(Message.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return [tuple(row) for row in reversed(rows.all())]  # type: ignore[misc]


async def case_contacts(session: AsyncSession, person_id: int, *, limit: int) -> Sequence[Contact]:
    return (
        await session.scalars(
            select(Contact)
            .where(Contact.person_id == person_id)
            .order_by(Contact.started_at.desc())  # type: ignore[attr-defined]
            .limit(limit)
        )
    ).all()


async def case_escalations(session: AsyncSession, person_id: int) -> Sequence[Escalation]:
    return (
        await session.scalars(
            select(Escalation)
            .where(Escalation.person_id == person_id)
            .order_by(Escalation.id.desc())  # type: ignore[union-attr]
        )
    ).all()


async def histories_of(
    session: AsyncSession, object_type: str, object_ids: Sequence[int]
) -> dict[int, list[AuditEvent]]:
    """What happened to each of these objects, oldest first (one query for all)."""
    if not object_ids:
        return {}
    events = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id.in_(object_ids))  # type: ignore[union-attr]
        .order_by(AuditEvent.id)  # type: ignore[arg-type]
    )
    found: dict[int, list[AuditEvent]] = {}
    for event in events.all():
        found.setdefault(event.object_id, []).append(event)  # type: ignore[arg-type]
    return found


async def case_follow_ups(
    session: AsyncSession, person_id: int, *, limit: int
) -> Sequence[FollowUp]:
    return (
        await session.scalars(
            select(FollowUp)
            .where(FollowUp.person_id == person_id)
            .order_by(FollowUp.due_at.desc())  # type: ignore[attr-defined]
            .limit(limit)
        )
    ).all()


async def identities_of(session: AsyncSession, person_id: int) -> Sequence[Identity]:
    return (
        await session.scalars(
            select(Identity).where(Identity.person_id == person_id).order_by(Identity.id)  # type: ignore[arg-type]
        )
    ).all()


async def notes_of(session: AsyncSession, person_id: int) -> Sequence[CaseNote]:
    return (
        await session.scalars(
            select(CaseNote).where(CaseNote.person_id == person_id).order_by(CaseNote.id.desc())  # type: ignore[union-attr]
        )
    ).all()


async def add_note(
    session: AsyncSession,
    *,
    person_id: int,
    text: str,
    author: str,
    author_id: int | None,
    at: datetime,
    escalation_id: int | None = None,
    kind: str = "note",
) -> CaseNote:
    note = CaseNote(
        person_id=person_id,
        escalation_id=escalation_id,
        author=author,
        author_id=author_id,
        kind=kind,
        text=text,
        created_at=at,
    )
    session.add(note)
    await session.flush()
    return note


async def holds_open_escalation(session: AsyncSession, person_id: int, holder: Holder) -> bool:
    """Whether this person took one of her escalations that is not resolved yet."""
    found = await session.scalar(
        select(Escalation.id)
        .where(
            Escalation.person_id == person_id,
            Escalation.status.in_(UNRESOLVED),  # type: ignore[attr-defined]
            held_by(holder),
        )
        .limit(1)
    )
    return found is not None


async def latest_channel(session: AsyncSession, person_id: int) -> str | None:
    """The channel she last wrote on (where a callback reaches her)."""
    return await session.scalar(
        select(Message.channel)
        .where(Message.person_id == person_id, Message.direction == "in")
        .order_by(Message.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )
