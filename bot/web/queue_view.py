"""What the queue shows of each escalation, and which moves a staff member may make on it.

Pure functions over stored rows: the page, its live fragment and the JSON API all read the
same ``QueueItem``; who may do what is decided here once, with the escalation state machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.web import texts
from bot.web.access import StaffMember
from bot.web.ack_view import local_time
from handlers.escalation import can_move
from storage.models import Escalation, EscalationStatus
from storage.queries import Holder, QueueRow
from storage.queries.escalations import UNTAKEN


def roster_names(config: Config) -> dict[str, str]:
    """Roster worker ids (``taken_by``, a staff username) to the names people know."""
    return {worker.id: worker.name for worker in config.roster.workers}


def holder(staff: StaffMember) -> Holder:
    return Holder(username=staff.username, staff_id=staff.id)


def is_own(staff: StaffMember, escalation: Escalation) -> bool:
    return escalation.taken_by == staff.username or (
        escalation.assignee_id is not None and escalation.assignee_id == staff.id
    )


def may_take(escalation: Escalation) -> bool:
    """Anyone who sees an untaken escalation may take it. Taking is claiming: the model has
    one move for both (``taken_by`` and ``assignee_id`` are set together), and the state
    machine lets nobody take what somebody has."""
    return can_move(escalation.status, EscalationStatus.ACKNOWLEDGED)


def may_resolve(staff: StaffMember, escalation: Escalation) -> bool:
    """Its taker or a supervisor closes a case; a worker takes an untaken one first. (Who may
    see which escalation is the queue's query: ``queries.queue_rows``.)"""
    if not can_move(escalation.status, EscalationStatus.RESOLVED):
        return False
    return staff.is_supervisor or is_own(staff, escalation)


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: int
    person_id: int
    pseudonym: str
    priority: str
    priority_label: str
    status: str
    status_label: str
    level_label: str
    reason: str
    risk_level: str
    risk_label: str
    risk_reasons: tuple[str, ...]
    channel: str
    channel_label: str
    created_at: datetime
    sla_deadline: datetime
    waiting: str
    sla: str
    overdue: bool
    taken_by: str | None
    taken_by_name: str
    mine: bool
    can_take: bool
    can_resolve: bool
    opened_local: str
    due_local: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "person_id": self.person_id,
            "pseudonym": self.pseudonym,
            "priority": self.priority,
            "status": self.status,
            "level": self.level_label,
            "reason": self.reason,
            "risk_level": self.risk_level,
            "risk_reasons": list(self.risk_reasons),
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
            "sla_deadline": self.sla_deadline.isoformat(),
            "overdue": self.overdue,
            "taken_by": self.taken_by,
            "mine": self.mine,
            "can_acknowledge": self.can_take,
            "can_resolve": self.can_resolve,
        }


def queue_item(
    row: QueueRow,
    staff: StaffMember,
    *,
    now: datetime,
    zone: ZoneInfo,
    names: dict[str, str],
) -> QueueItem:
    escalation = row.escalation
    left = escalation.sla_deadline - now
    overdue = left < timedelta(0)
    mine = is_own(staff, escalation)
    taken_by = escalation.taken_by if escalation.status not in UNTAKEN else None
    if taken_by is None:
        taken_by_name = texts.NOBODY_YET
    elif mine:
        taken_by_name = texts.YOU
    else:
        taken_by_name = names.get(taken_by, taken_by)
    return QueueItem(
        id=escalation.id,  # type: ignore[arg-type]
        person_id=escalation.person_id,
        pseudonym=row.pseudonym,
        priority=escalation.priority,
        priority_label=texts.PRIORITY_LABELS.get(escalation.priority, escalation.priority),
        status=escalation.status,
        status_label=texts.STATUS_LABELS.get(escalation.status, escalation.status),
        level_label=texts.LEVEL_LABELS.get(escalation.level, str(escalation.level)),
        reason=escalation.reason,
        risk_level=escalation.risk_level,
        risk_label=texts.RISK_LABELS.get(escalation.risk_level, escalation.risk_level),
        risk_reasons=row.risk_reasons,
        channel=row.channel,
        channel_label=texts.CHANNEL_LABELS.get(row.channel, row.channel),
        created_at=escalation.created_at,
        sla_deadline=escalation.sla_deadline,
        waiting=duration(now - escalation.created_at),
        sla=(texts.SLA_OVERDUE if overdue else texts.SLA_LEFT).format(duration=duration(abs(left))),
        overdue=overdue,
        taken_by=taken_by,
        taken_by_name=taken_by_name,
        mine=mine,
        can_take=may_take(escalation),
        can_resolve=may_resolve(staff, escalation),
        opened_local=local_time(escalation.created_at, zone),
        due_local=local_time(escalation.sla_deadline, zone),
    )


def duration(span: timedelta) -> str:
    """A span as a worker reads it at a glance: minutes, then hours, then days."""
    minutes = max(int(span.total_seconds() // 60), 0)
    if minutes < 60:
        return texts.MINUTES.format(n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return texts.HOURS_MINUTES.format(h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return texts.DAYS_HOURS.format(d=days, h=hours)
