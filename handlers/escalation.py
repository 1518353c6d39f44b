"""The escalation's life, as one state machine: open → notified → acknowledged → resolved,
climbing levels (duty social worker → backup → supervisors) while nobody takes it.

Pure functions over the stored escalation; ``bot/`` writes what they return. The SLA per
priority comes from ``policy.sla_minutes`` in config.yml.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.settings import WEEKDAYS, PolicySettings
from handlers.texts import describe_for_worker
from handlers.turn import EscalationAction, JoinEscalation, OpenEscalation, RaiseEscalation, Turn
from intents import Risk, RiskLevel
from storage.models import Escalation, EscalationStatus, Priority

_URGENCY = {Priority.P1: 0, Priority.P2: 1, Priority.P3: 2}
DUTY, BACKUP, SUPERVISORS = 0, 1, 2
TOP_LEVEL = SUPERVISORS

# Which status may follow which. Climbing a level puts a notified escalation back to open
# (its new level is not told yet); so does a more urgent message on a taken one (a crisis in a
# case somebody took at P2 pages again, whoever took it first); nothing leaves resolved.
TRANSITIONS: dict[EscalationStatus, frozenset[EscalationStatus]] = {
    EscalationStatus.OPEN: frozenset(
        {EscalationStatus.NOTIFIED, EscalationStatus.ACKNOWLEDGED, EscalationStatus.RESOLVED}
    ),
    EscalationStatus.NOTIFIED: frozenset(
        {EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED, EscalationStatus.RESOLVED}
    ),
    EscalationStatus.ACKNOWLEDGED: frozenset({EscalationStatus.OPEN, EscalationStatus.RESOLVED}),
    EscalationStatus.RESOLVED: frozenset(),
}


def can_move(current: str, to: EscalationStatus) -> bool:
    return to in TRANSITIONS[EscalationStatus(current)]


def is_taken(escalation: Escalation) -> bool:
    """Somebody has it (or it is over): no notice or climb for it any more."""
    return escalation.status in (EscalationStatus.ACKNOWLEDGED, EscalationStatus.RESOLVED)


def priority_for_risk(risk: Risk) -> Priority | None:
    if risk.level in (RiskLevel.IMMINENT, RiskLevel.HIGH):
        return Priority.P1
    if risk.level is RiskLevel.MEDIUM:
        return Priority.P2
    return None


def most_urgent(*priorities: Priority | None) -> Priority:
    return min((p for p in priorities if p is not None), key=_URGENCY.__getitem__)


def sla_deadline(priority: Priority, now: datetime, settings: PolicySettings) -> datetime:
    return now + timedelta(minutes=settings.sla_minutes[priority])


def paging_starts(
    priority: Priority, now: datetime, settings: PolicySettings, zone: ZoneInfo
) -> datetime | None:
    """When the staff are first told: P1 at once, P2 in working hours, P3 never (logged for
    the queue, no page)."""
    if priority is Priority.P1:
        return now
    if priority is Priority.P2:
        return next_working_moment(now, settings, zone)
    return None


def next_working_moment(now: datetime, settings: PolicySettings, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in settings.working_days:
            continue
        opens = datetime.combine(day, settings.working_from, tzinfo=zone)
        closes = datetime.combine(day, settings.working_until, tzinfo=zone)
        if local < opens:
            return opens.astimezone(now.tzinfo)
        if local < closes:
            return now
    raise AssertionError("working_days is never empty")


@dataclass(frozen=True)
class Escalate:
    """Escalate to the duty social worker at this priority, or higher if the risk says so."""

    priority: Priority

    def __call__(self, turn: Turn) -> None:
        priority = most_urgent(self.priority, priority_for_risk(turn.parse.risk))
        turn.decision.escalation = on_message(turn, priority)


def on_message(
    turn: Turn, priority: Priority, *, reason: str | None = None, cause: str | None = None
) -> EscalationAction:
    """One unresolved escalation per mother: a new message raises it, never duplicates it.

    ``reason`` is what the workers read (by default: this message's intent and risk);
    ``cause`` names why, when it is more than this message."""
    risk = turn.parse.risk
    reason = reason or describe_for_worker(
        turn.parse.intent,
        risk.level,
        risk.reasons,
        concern_for_other=risk.for_another,
    )
    return escalate(
        turn.case.open_escalation,
        priority,
        reason,
        risk.level,
        turn.now,
        turn.settings,
        turn.zone,
        cause=cause,
    )


def escalate(
    existing: Escalation | None,
    priority: Priority,
    reason: str,
    risk_level: str,
    now: datetime,
    settings: PolicySettings,
    zone: ZoneInfo,
    *,
    cause: str | None = None,
) -> EscalationAction:
    """Open one, or raise or join her unresolved escalation (``existing``)."""
    notify_at = paging_starts(priority, now, settings, zone)
    deadline = sla_deadline(priority, notify_at or now, settings)
    if existing is None:
        return OpenEscalation(priority, reason, risk_level, deadline, notify_at, cause)
    if _URGENCY[priority] < _URGENCY[Priority(existing.priority)]:
        return RaiseEscalation(
            existing.id,  # type: ignore[arg-type]
            priority,
            reason,
            risk_level,
            min(existing.sla_deadline, deadline),
            notify_at,
            cause,
        )
    return JoinEscalation(existing.id)  # type: ignore[arg-type]


def on_raise(escalation: Escalation) -> tuple[EscalationStatus, int]:
    """Status and level of an escalation that a more urgent message raised: a taken one is
    open again from the first level (the one who took it is told first); else unchanged."""
    if escalation.status == EscalationStatus.ACKNOWLEDGED:
        return EscalationStatus.OPEN, DUTY
    return EscalationStatus(escalation.status), escalation.level


@dataclass(frozen=True)
class Climb:
    """Nobody took it in time: the next level is told, with a new deadline."""

    from_level: int
    to_level: int
    sla_deadline: datetime


def on_sla_missed(
    escalation: Escalation, level: int, now: datetime, settings: PolicySettings
) -> Climb | None:
    """What an SLA check at ``level`` does; None when it has nothing to do (taken, or a check
    of a level already left behind)."""
    if is_taken(escalation) or escalation.level != level:
        return None
    to_level = min(level + 1, TOP_LEVEL)
    return Climb(level, to_level, sla_deadline(Priority(escalation.priority), now, settings))
