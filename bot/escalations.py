"""What staff do to an escalation: take it (acknowledge) or close it (resolve).

The state machine (``handlers.escalation``) says which moves are allowed; this module writes
them, and cancels in the same transaction what must not go out any more, so nobody is paged
for a case somebody already has (Grafana OnCall's users report exactly that:
grafana/oncall#4654, #4760):

- acknowledged: every page of it not yet sent (notices, per-person deliveries, SLA checks);
  the "taken" notices to the others are written after, in the same transaction;
- resolved: those, and the "taken" notices not yet sent (nobody need stand down from a
  closed case).

Her follow-ups (a check-in, a callback) are not pages: they go on either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff_work import enqueue_taken_notices
from handlers.escalation import can_move
from storage import queries
from storage.db import Database
from storage.models import Escalation, EscalationStatus, OutboxKind

PAGING = (OutboxKind.STAFF_NOTICE, OutboxKind.STAFF_DELIVERY, OutboxKind.SLA_CHECK)
STOPS_WHEN: dict[EscalationStatus, tuple[str, ...]] = {
    EscalationStatus.ACKNOWLEDGED: PAGING,
    EscalationStatus.RESOLVED: (*PAGING, OutboxKind.STAFF_TAKEN),
}


class NotAllowed(Exception):
    """The escalation is not in a state that allows this (the message says which)."""


# More work to write in the same transaction as the move (e.g. the link used, the others told
# it is taken): all of it happens, or none.
Also = Callable[[AsyncSession, Escalation], Awaitable[None]]


async def acknowledge(
    db: Database,
    escalation_id: int,
    *,
    by: str,
    at: datetime,
    staff_id: int | None = None,
    also: Also | None = None,
) -> Escalation:
    return await _move(
        db, escalation_id, EscalationStatus.ACKNOWLEDGED, by=by, at=at, staff_id=staff_id, also=also
    )


# Work written with a take, once the others are told (how many were).
AlsoTold = Callable[[AsyncSession, Escalation, int], Awaitable[None]]


async def take(
    db: Database,
    escalation_id: int,
    *,
    by: str,
    at: datetime,
    staff_id: int | None = None,
    also: AlsoTold | None = None,
) -> Escalation:
    """Acknowledge it, and tell everyone a notice of it reached (but ``by``) that it is taken,
    in one transaction: the one-tap link and the staff pages take a case the same way."""

    async def and_tell_the_others(session: AsyncSession, escalation: Escalation) -> None:
        told = await enqueue_taken_notices(session, escalation, taken_by=by, now=at)
        if also is not None:
            await also(session, escalation, told)

    return await acknowledge(
        db, escalation_id, by=by, at=at, staff_id=staff_id, also=and_tell_the_others
    )


async def resolve(
    db: Database,
    escalation_id: int,
    *,
    by: str,
    at: datetime,
    staff_id: int | None = None,
    also: Also | None = None,
) -> Escalation:
    return await _move(
        db, escalation_id, EscalationStatus.RESOLVED, by=by, at=at, staff_id=staff_id, also=also
    )


async def _move(
    db: Database,
    escalation_id: int,
    to: EscalationStatus,
    *,
    by: str,
    at: datetime,
    staff_id: int | None,
    also: Also | None = None,
) -> Escalation:
    async with db.write() as session:
        escalation = await queries.lock_escalation(session, escalation_id)
        if escalation is None:
            raise NotAllowed(f"escalation #{escalation_id} not found")
        if not can_move(escalation.status, to):
            raise NotAllowed(f"escalation #{escalation_id} is {escalation.status}")
        escalation.status = to
        escalation.updated_at = at
        if to is EscalationStatus.ACKNOWLEDGED:
            escalation.acknowledged_at = at
            escalation.taken_by = by
            escalation.assignee_id = staff_id or escalation.assignee_id
        else:
            escalation.resolved_at = at
        cancelled = await queries.cancel_pending(
            session, escalation_id=escalation_id, kinds=STOPS_WHEN[to], at=at, result=to.value
        )
        await queries.audit(
            session,
            actor=by,
            action=f"escalation.{to.value}",
            object_type="escalation",
            object_id=escalation_id,
            at=at,
            detail={"notices_cancelled": cancelled},
        )
        if also is not None:
            await also(session, escalation)
    return escalation
