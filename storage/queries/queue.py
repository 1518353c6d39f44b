"""The escalation queue staff work from, and the cheap "has it changed" question behind its
live updates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Classification, Escalation, EscalationStatus, Message, Person
from storage.queries.escalations import UNRESOLVED, UNTAKEN


@dataclass(frozen=True, slots=True)
class Holder:
    """A staff member as the escalations name them: a roster id in ``taken_by``, an account
    id in ``assignee_id``."""

    username: str
    staff_id: int | None


@dataclass(frozen=True, slots=True)
class QueueRow:
    escalation: Escalation
    pseudonym: str
    channel: str
    risk_reasons: tuple[str, ...]


def held_by(holder: Holder):  # type: ignore[no-untyped-def]
    """The condition "this escalation is hers"."""
    own = Escalation.taken_by == holder.username
    if holder.staff_id is not None:
        own = or_(own, Escalation.assignee_id == holder.staff_id)
    return own


async def queue_row(session: AsyncSession, escalation: Escalation) -> QueueRow:
    return (await _with_messages(session, [escalation]))[0]


async def queue_rows(
    session: AsyncSession, *, visible_to: Holder | None, limit: int = 200
) -> list[QueueRow]:
    """Unresolved escalations, P1 first, then the longest waiting. ``visible_to`` limits them
    to that person's own and the untaken ones (None: all of them)."""
    query = select(Escalation).where(Escalation.status.in_(UNRESOLVED))  # type: ignore[attr-defined]
    if visible_to is not None:
        query = query.where(or_(Escalation.status.in_(UNTAKEN), held_by(visible_to)))  # type: ignore[attr-defined]
    escalations = (
        await session.scalars(
            query.order_by(Escalation.priority, Escalation.created_at, Escalation.id).limit(limit)  # type: ignore[arg-type]
        )
    ).all()
    return await _with_messages(session, escalations)


async def _with_messages(
    session: AsyncSession, escalations: Sequence[Escalation]
) -> list[QueueRow]:
    """Each escalation with its channel (its first message's) and the risk reasons of every
    message that opened or joined it, in the order they came."""
    if not escalations:
        return []
    ids = [e.id for e in escalations]
    openings = [e.message_id for e in escalations]
    rows = await session.execute(
        select(Message.id, Message.escalation_id, Message.channel, Classification.risk_reasons)
        .outerjoin(Classification, Classification.message_id == Message.id)
        .where(
            # Through her messages (indexed by person): message.escalation_id has no index.
            Message.person_id.in_({e.person_id for e in escalations}),  # type: ignore[attr-defined]
            or_(Message.escalation_id.in_(ids), Message.id.in_(openings)),  # type: ignore[union-attr]
        )
        .order_by(Message.id)
    )
    opening_of = {e.message_id: e.id for e in escalations}
    channels: dict[int, str] = {}
    reasons: dict[int, list[str]] = {}
    for message_id, escalation_id, channel, risk_reasons in rows.all():
        owner = escalation_id if escalation_id is not None else opening_of.get(message_id)
        if owner is None:
            continue
        if message_id in opening_of:
            channels[opening_of[message_id]] = channel
        seen = reasons.setdefault(owner, [])
        seen.extend(r for r in risk_reasons or () if r not in seen)
    people = dict(
        (
            await session.execute(
                select(Person.id, Person.pseudonym).where(
                    Person.id.in_({e.person_id for e in escalations})  # type: ignore[union-attr]
                )
            )
        ).all()
    )
    return [
        QueueRow(
            e,
            people.get(e.person_id, ""),
            channels.get(e.id, ""),  # type: ignore[arg-type]
            tuple(reasons.get(e.id, ())),  # type: ignore[arg-type]
        )
        for e in escalations
    ]


async def queue_version(session: AsyncSession) -> str:
    """Changes whenever an escalation is opened or moves (taken, resolved, raised, climbed,
    joined): every such write sets ``updated_at``, and the counts tell apart two moves stamped
    with the same moment (a fixed clock, a coarse one). Only unresolved rows are read (by the
    status index): one that is resolved leaves them, which changes their count. No lock: any
    replica's write shows in the next call."""
    taken = Escalation.status == EscalationStatus.ACKNOWLEDGED
    row = (
        await session.execute(
            select(
                func.count(),
                func.max(Escalation.id),
                func.max(Escalation.updated_at),
                func.sum(case((taken, 1), else_=0)),
                func.sum(Escalation.level),
            ).where(Escalation.status.in_(UNRESOLVED))  # type: ignore[attr-defined]
        )
    ).one()
    return ".".join("-" if value is None else str(value) for value in row)
