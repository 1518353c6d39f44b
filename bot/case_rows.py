"""Writing what the policy decided about her case, in the caller's transaction: an escalation
(open, raise or join) and its page, a follow-up and its outbox row. The pipeline does it for a
message; a check-in run for a mother who went quiet or got a check-in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff_work import enqueue_escalation_notice, follow_up_key
from handlers.escalation import on_raise
from handlers.turn import (
    EscalationAction,
    JoinEscalation,
    OpenEscalation,
    RaiseEscalation,
    ScheduleFollowUp,
    pages,
)
from storage import queries
from storage.models import Escalation, EscalationStatus, FollowUp, FollowUpStatus, OutboxKind


async def write_escalation(
    session: AsyncSession,
    action: EscalationAction,
    *,
    person_id: int,
    message_id: int,
    existing: Escalation | None,
    now: datetime,
) -> Escalation:
    """The escalation ``action`` names, written; ``existing`` is her unresolved one."""
    if isinstance(action, OpenEscalation):
        escalation = Escalation(
            person_id=person_id,
            message_id=message_id,
            priority=action.priority,
            reason=action.reason,
            risk_level=action.risk_level,
            status=EscalationStatus.OPEN,
            created_at=now,
            updated_at=now,
            sla_deadline=action.sla_deadline,
        )
        await queries.insert_row(session, escalation)
        await _audit(session, "escalation.opened", escalation, message_id, now, action.cause)
        return escalation
    assert existing is not None and existing.id == action.escalation_id
    existing.updated_at = now
    if isinstance(action, RaiseEscalation):
        existing.priority = action.priority
        existing.reason = action.reason
        existing.risk_level = action.risk_level
        existing.sla_deadline = action.sla_deadline
        existing.status, existing.level = on_raise(existing)
        await _audit(session, "escalation.raised", existing, message_id, now, action.cause)
    else:
        assert isinstance(action, JoinEscalation)
    return existing


async def page_for(
    session: AsyncSession, action: EscalationAction, escalation: Escalation, now: datetime
) -> bool:
    """Enqueue the staff notice ``action`` calls for; whether there was one."""
    if not pages(action):
        return False
    assert isinstance(action, OpenEscalation | RaiseEscalation)
    await enqueue_escalation_notice(session, escalation, now, notify_at=action.notify_at)
    return True


async def schedule_follow_up(
    session: AsyncSession,
    planned: ScheduleFollowUp,
    *,
    person_id: int,
    message_id: int | None,
    escalation_id: int | None,
    channel: str,
    now: datetime,
) -> FollowUp:
    """The follow-up and the outbox row that fires it when it falls due."""
    follow_up = FollowUp(
        person_id=person_id,
        message_id=message_id,
        escalation_id=escalation_id,
        channel=channel,
        kind=planned.kind,
        round=planned.round,
        status=FollowUpStatus.SCHEDULED,
        due_at=planned.due_at,
        created_at=now,
    )
    await queries.insert_row(session, follow_up)
    await queries.enqueue(
        session,
        kind=OutboxKind.FOLLOW_UP,
        key=follow_up_key(follow_up.id),  # type: ignore[arg-type]
        due_at=follow_up.due_at,
        now=now,
        follow_up_id=follow_up.id,
    )
    return follow_up


async def _audit(
    session: AsyncSession,
    action: str,
    escalation: Escalation,
    message_id: int,
    now: datetime,
    cause: str | None,
) -> None:
    detail: dict[str, Any] = {"priority": str(escalation.priority), "message_id": message_id}
    if cause is not None:  # why, when it is more than this message (repeated distress...)
        detail["cause"] = cause
    await queries.audit(
        session,
        actor="careline",
        action=action,
        object_type="escalation",
        object_id=escalation.id,
        at=now,
        detail=detail,
    )
