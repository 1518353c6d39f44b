"""Escalating to the duty social worker, with an SLA by priority."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from handlers.texts import describe_for_worker
from handlers.turn import Turn
from intents import Risk, RiskLevel
from storage import queries
from storage.models import EscalationStatus, Priority
from storage.records import EscalationRecord

_URGENCY = {Priority.P1: 0, Priority.P2: 1, Priority.P3: 2}


def priority_for_risk(risk: Risk) -> Priority | None:
    if risk.level in (RiskLevel.IMMINENT, RiskLevel.HIGH):
        return Priority.P1
    if risk.level is RiskLevel.MEDIUM:
        return Priority.P2
    return None


def most_urgent(*priorities: Priority | None) -> Priority:
    return min((p for p in priorities if p is not None), key=_URGENCY.__getitem__)


@dataclass(frozen=True)
class Escalate:
    """Escalate to the duty social worker at this priority, or higher if the risk says so."""

    priority: Priority

    async def __call__(self, turn: Turn) -> None:
        risk_priority = priority_for_risk(turn.parse.risk)
        await open_or_raise_escalation(turn, most_urgent(self.priority, risk_priority))


async def open_or_raise_escalation(turn: Turn, priority: Priority) -> None:
    """One unresolved escalation per mother: a new crisis message raises it, never duplicates it."""
    risk = turn.parse.risk
    reason = describe_for_worker(turn.parse.intent, risk.level, risk.reasons)
    deadline = turn.now + timedelta(minutes=turn.settings.sla_minutes[priority])
    existing = await queries.unresolved_escalation(turn.session, turn.person.id)
    if existing is not None:
        existing.updated_at = turn.now
        if _URGENCY[priority] < _URGENCY[Priority(existing.priority)]:
            existing.priority = priority
            existing.reason = reason
            existing.risk_level = risk.level
            existing.sla_deadline = min(existing.sla_deadline, deadline)
            turn.effects.escalation_needs_notice = True
            await queries.audit(
                turn.session,
                actor="careline",
                action="escalation.raised",
                object_type="escalation",
                object_id=existing.id,
                at=turn.now,
                detail={"priority": priority.value, "message_id": turn.message.id},
            )
        await queries.raise_escalation(turn.session, existing)
        turn.effects.escalation = existing
        return
    escalation = EscalationRecord(
        person_id=turn.person.id,
        message_id=turn.message.id,
        priority=priority,
        reason=reason,
        risk_level=risk.level,
        status=EscalationStatus.OPEN,
        created_at=turn.now,
        updated_at=turn.now,
        sla_deadline=deadline,
    )
    await queries.insert_escalation(turn.session, escalation)
    await queries.audit(
        turn.session,
        actor="careline",
        action="escalation.opened",
        object_type="escalation",
        object_id=escalation.id,
        at=turn.now,
        detail={"priority": priority.value, "message_id": turn.message.id},
    )
    turn.effects.escalation = escalation
    turn.effects.escalation_needs_notice = True
