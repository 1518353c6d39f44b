"""Escalations to the duty social worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Escalation, EscalationStatus, Message

UNRESOLVED = (EscalationStatus.OPEN, EscalationStatus.NOTIFIED, EscalationStatus.ACKNOWLEDGED)
# Still climbing: nobody has taken it yet.
UNTAKEN = (EscalationStatus.OPEN, EscalationStatus.NOTIFIED)


async def get_escalation(session: AsyncSession, escalation_id: int) -> Escalation | None:
    return await session.get(Escalation, escalation_id)


async def lock_escalation(session: AsyncSession, escalation_id: int) -> Escalation | None:
    """The escalation, locked for this transaction (staff acting on it at once: one wins)."""
    return await session.scalar(
        select(Escalation)
        .where(Escalation.id == escalation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def unresolved_escalation(session: AsyncSession, person_id: int) -> Escalation | None:
    return await session.scalar(
        select(Escalation)
        .where(Escalation.person_id == person_id, Escalation.status.in_(UNRESOLVED))  # type: ignore[attr-defined]
        .order_by(Escalation.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )


async def escalation_of(session: AsyncSession, message: Message) -> Escalation | None:
    """The escalation a handled message opened or joined."""
    if message.escalation_id is not None:
        return await session.get(Escalation, message.escalation_id)
    # Handled before messages named their escalation (migration 0004): the one it opened.
    return await session.scalar(
        select(Escalation).where(Escalation.message_id == message.id).limit(1)
    )


async def mark_notified(session: AsyncSession, escalation_id: int, at: datetime) -> bool:
    """Open → notified; False when it was no longer open (notified before, or taken)."""
    result = await session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN)
        .values(status=EscalationStatus.NOTIFIED, notified_at=at, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def climb_escalation(
    session: AsyncSession,
    escalation_id: int,
    *,
    from_level: int,
    to_level: int,
    deadline: datetime,
    at: datetime,
) -> bool:
    """Move an untaken escalation from one level to the next; exactly one caller wins.

    The condition on the level is the claim: a second SLA check (a retry, another replica)
    finds the level moved on and changes nothing.
    """
    result = await session.execute(
        update(Escalation)
        .where(
            Escalation.id == escalation_id,
            Escalation.level == from_level,
            Escalation.status.in_(UNTAKEN),  # type: ignore[attr-defined]
        )
        .values(level=to_level, sla_deadline=deadline, status=EscalationStatus.OPEN, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]
