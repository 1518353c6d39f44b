"""Who is on duty: computed from the roster at a moment, never stored per escalation.

Pure functions over :class:`RosterConfig` and aware datetimes. Shifts are laid out on local
dates in the service's zone and compared in UTC (two datetimes sharing one ``ZoneInfo`` compare
by wall clock, which is wrong across a DST change; Asia/Shanghai has none, other zones may).

Rules, in order:
- a dated override covering the moment wins over every weekly shift;
- of several slots covering it, the one that started last wins (a handover overlap goes to the
  incoming shift), then the one listed first;
- a primary on leave is replaced by the backup (who then has no backup of her own); a backup on
  leave is simply absent; nobody left is a gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.roster.config import WEEKDAYS, RosterConfig, SocialWorker

__all__ = [
    "Duty",
    "DutySpan",
    "EscalationStep",
    "Gap",
    "escalation_chain",
    "gaps",
    "on_duty",
    "people_at_level",
    "supervisors",
    "timeline",
]

Source = Literal["shift", "override"]


@dataclass(frozen=True, slots=True)
class Duty:
    """Who answers at one moment; ``primary is None`` is a gap."""

    primary: SocialWorker | None
    backup: SocialWorker | None
    source: Source | None = None
    # The rostered primary who is on leave (the backup stands in for her).
    on_leave: SocialWorker | None = None

    @property
    def is_gap(self) -> bool:
        return self.primary is None


@dataclass(frozen=True, slots=True)
class DutySpan:
    start: datetime
    end: datetime
    duty: Duty


@dataclass(frozen=True, slots=True)
class Gap:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class EscalationStep:
    role: Literal["primary", "backup", "supervisors"]
    people: tuple[SocialWorker, ...]


@dataclass(frozen=True, slots=True)
class _Slot:
    start: datetime  # UTC
    end: datetime  # UTC
    primary: str
    backup: str | None
    source: Source
    order: int


def on_duty(roster: RosterConfig, at: datetime, zone: ZoneInfo) -> Duty:
    at = _utc(at)
    local_day = at.astimezone(zone).date()
    slots = _slots(roster, local_day - timedelta(days=1), local_day, zone)
    covering = [s for s in slots if s.start <= at < s.end]
    overrides = [s for s in covering if s.source == "override"]
    chosen = _latest(overrides or covering)
    if chosen is None:
        return Duty(None, None)
    away = _on_leave(roster, local_day)
    primary = None if chosen.primary in away else roster.worker(chosen.primary)
    backup = None
    if chosen.backup is not None and chosen.backup not in away:
        backup = roster.worker(chosen.backup)
    if primary is None:
        return Duty(backup, None, chosen.source, on_leave=roster.worker(chosen.primary))
    return Duty(primary, backup, chosen.source)


def timeline(
    roster: RosterConfig, start: datetime, end: datetime, zone: ZoneInfo
) -> list[DutySpan]:
    """Stretches of unchanged duty covering [start, end), gaps included."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    points = {start, end}
    for slot in _slots(roster, first, last, zone):
        points.update((slot.start, slot.end))
    points.update(_local_midnight(day, zone) for day in _days(first, last))  # leave boundaries
    cuts = sorted(p for p in points if start <= p <= end)
    spans: list[DutySpan] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        duty = on_duty(roster, a, zone)
        if spans and spans[-1].duty == duty and spans[-1].end == a:
            spans[-1] = DutySpan(spans[-1].start, b, duty)
        else:
            spans.append(DutySpan(a, b, duty))
    return spans


def gaps(roster: RosterConfig, start: datetime, end: datetime, zone: ZoneInfo) -> list[Gap]:
    """The stretches of [start, end) when nobody is on duty."""
    return [Gap(s.start, s.end) for s in timeline(roster, start, end, zone) if s.duty.is_gap]


def supervisors(roster: RosterConfig) -> tuple[SocialWorker, ...]:
    return tuple(roster.worker(i) for i in roster.supervisors)


def escalation_chain(
    roster: RosterConfig, at: datetime, zone: ZoneInfo
) -> tuple[EscalationStep, ...]:
    """Whom to tell, level by level, for an escalation opened at ``at``: frozen when it opens.

    On duty: primary, then backup, then every supervisor. In a gap the chain starts with the
    supervisors (and a primary on leave is already replaced by the backup).
    """
    duty = on_duty(roster, at, zone)
    steps = [
        EscalationStep("primary", (duty.primary,)) if duty.primary else None,
        EscalationStep("backup", (duty.backup,)) if duty.backup else None,
        EscalationStep("supervisors", supervisors(roster)) if roster.supervisors else None,
    ]
    return tuple(step for step in steps if step is not None)


def people_at_level(
    roster: RosterConfig, opened_at: datetime, level: int, zone: ZoneInfo
) -> tuple[SocialWorker, ...]:
    """Who an escalation opened at ``opened_at`` tells at ``level`` (past the chain's end:
    its last step, the supervisors); nobody without a roster."""
    chain = escalation_chain(roster, opened_at, zone)
    if not chain:
        return ()
    return chain[min(level, len(chain) - 1)].people


# -- laying shifts out on dates ----------------------------------------------------------------


def _slots(roster: RosterConfig, first: date, last: date, zone: ZoneInfo) -> Iterator[_Slot]:
    for day in _days(first, last):
        weekday = WEEKDAYS[day.weekday()]
        for index, shift in enumerate(roster.shifts):
            if weekday in shift.days:
                start, end = _window(day, shift.start, shift.end, zone)
                yield _Slot(start, end, shift.primary, shift.backup, "shift", index)
    for index, override in enumerate(roster.overrides):
        if first <= override.date <= last:
            start, end = _window(override.date, override.start, override.end, zone)
            yield _Slot(start, end, override.primary, override.backup, "override", index)


def _window(day: date, start: time, end: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    end_day = day if end > start else day + timedelta(days=1)
    return (
        datetime.combine(day, start, zone).astimezone(UTC),
        datetime.combine(end_day, end, zone).astimezone(UTC),
    )


def _latest(slots: Iterable[_Slot]) -> _Slot | None:
    # Latest start first; on equal starts the one listed first (lowest index) wins.
    return min(slots, key=lambda s: (-s.start.timestamp(), s.order), default=None)


def _on_leave(roster: RosterConfig, day: date) -> set[str]:
    return {leave.worker for leave in roster.leave if leave.first_day <= day <= leave.last_day}


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("on-duty questions need an aware datetime")
    return moment.astimezone(UTC)
