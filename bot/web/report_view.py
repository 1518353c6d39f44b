"""The programme's report for a year or a month, as plain numbers: the page draws it, the JSON
API returns it.

- Services in 人次: one contact is one 人次 (``handlers/contact.py``), counted by its service
  type (陪伴式 / 赋能式 / 支持式, ``intents.ServiceType``) in the local month (or day) it
  started; 人数 counts each mother once per type.
- Escalations opened in the period, by priority: how many were acknowledged and the median
  time from opening to acknowledgement (the ones never acknowledged are not in the median).
- Follow-ups due in the period up to now (cancelled ones are not due): done vs due.
Every figure is an SQL aggregate (``storage.queries.reports``).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services import Services
from bot.web import texts
from intents import ServiceType
from storage.models import FollowUpKind, FollowUpStatus, Priority
from storage.queries import reports

SERVICE_TYPES = tuple(s.value for s in ServiceType)
PRIORITIES = tuple(p.value for p in Priority)
FOLLOW_UP_KINDS = tuple(k.value for k in FollowUpKind)
OPEN_STATUSES = (FollowUpStatus.SCHEDULED, FollowUpStatus.FIRING, FollowUpStatus.SENDING)
FIRST_YEAR = 2000


@dataclass(frozen=True, slots=True)
class Period:
    year: int
    month: int | None = None  # None: the whole year

    @property
    def title(self) -> str:
        if self.month is None:
            return texts.REPORT_YEAR_TITLE.format(year=self.year)
        return texts.REPORT_MONTH_TITLE.format(year=self.year, month=self.month)

    @property
    def label(self) -> str:
        if self.month is None:
            return texts.PERIOD_YEAR.format(year=self.year)
        return texts.PERIOD_MONTH.format(year=self.year, month=self.month)

    def bounds(self, zone: ZoneInfo) -> tuple[list[datetime], list[str]]:
        """The starts of its buckets (months of a year, days of a month) and the end, local,
        with each bucket's label."""
        if self.month is None:
            starts = [date(self.year, m, 1) for m in range(1, 13)] + [date(self.year + 1, 1, 1)]
            labels = [texts.MONTH_LABEL.format(month=m) for m in range(1, 13)]
        else:
            days = calendar.monthrange(self.year, self.month)[1]
            first = date(self.year, self.month, 1)
            starts = [first + timedelta(days=d) for d in range(days + 1)]
            labels = [texts.DAY_LABEL.format(day=d) for d in range(1, days + 1)]
        return [datetime.combine(d, time(), zone) for d in starts], labels


def parse_period(query: Mapping[str, str], today: date) -> tuple[Period, bool]:
    """The period asked for, or this year when it is not a real one (then True)."""
    try:
        year = int(query.get("year") or today.year)
        month = int(query["month"]) if query.get("month") else None
    except ValueError:
        return Period(today.year), True
    if not FIRST_YEAR <= year <= today.year + 1 or (month is not None and not 1 <= month <= 12):
        return Period(today.year), True
    return Period(year, month), False


@dataclass(frozen=True, slots=True)
class ServiceRow:
    label: str
    counts: dict[str, int]  # by service type
    total: int


@dataclass(frozen=True, slots=True)
class EscalationRow:
    priority: str
    label: str
    opened: int
    acknowledged: int
    median_seconds: float | None
    median: str


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    kind: str
    label: str
    due: int
    done: int
    failed: int
    open: int
    rate: str  # done / due, as a percentage ("—" when none was due)


@dataclass(frozen=True, slots=True)
class Report:
    year: int
    month: int | None
    title: str
    period: str  # "2026年", "2026年3月"
    service_types: tuple[str, ...]
    services: list[ServiceRow]  # one per bucket
    service_totals: ServiceRow
    people: dict[str, int]  # 人数 by service type
    escalations: list[EscalationRow]
    escalations_by_bucket: list[dict[str, int]]  # by priority, one per bucket
    follow_ups: list[FollowUpRow]


async def build_report(services: Services, period: Period) -> Report:
    zone = services.config.zone
    bounds, labels = period.bounds(zone)
    since, until = bounds[0], bounds[-1]
    due_until = min(until, services.clock.now())
    async with services.db.session() as session:
        by_service = await reports.services_by_bucket(session, bounds, SERVICE_TYPES)
        people = await reports.people_by_service(session, since, until)
        by_priority = await reports.escalations_by_bucket(session, bounds, PRIORITIES)
        acks = {p: await reports.acknowledgement(session, since, until, p) for p in PRIORITIES}
        follow_ups = (
            await reports.follow_ups_by_status(session, since, due_until)
            if due_until > since
            else {}
        )
    rows = []
    for i, label in enumerate(labels):
        counts = {s: by_service.get((i, s), 0) for s in SERVICE_TYPES}
        rows.append(ServiceRow(label, counts, sum(counts.values())))
    totals = {s: sum(r.counts[s] for r in rows) for s in SERVICE_TYPES}
    return Report(
        year=period.year,
        month=period.month,
        title=period.title,
        period=period.label,
        service_types=SERVICE_TYPES,
        services=rows,
        service_totals=ServiceRow(texts.SERVICE_TOTAL, totals, sum(totals.values())),
        people={s: people.get(s, 0) for s in SERVICE_TYPES},
        escalations=[
            EscalationRow(
                p,
                texts.PRIORITY_LABELS.get(p, p),
                acks[p].opened,
                acks[p].acknowledged,
                acks[p].median_seconds,
                texts.duration(acks[p].median_seconds),
            )
            for p in PRIORITIES
        ],
        escalations_by_bucket=[
            {p: by_priority.get((i, p), 0) for p in PRIORITIES} for i in range(len(labels))
        ],
        follow_ups=[_follow_up_row(kind, follow_ups) for kind in FOLLOW_UP_KINDS],
    )


def _follow_up_row(kind: str, counted: dict[tuple[str, str], int]) -> FollowUpRow:
    done = counted.get((kind, FollowUpStatus.DONE), 0)
    failed = counted.get((kind, FollowUpStatus.FAILED), 0)
    still_open = sum(counted.get((kind, s), 0) for s in OPEN_STATUSES)
    due = done + failed + still_open
    rate = f"{done / due:.0%}" if due else texts.ESC_NONE
    return FollowUpRow(
        kind, texts.FOLLOW_UP_LABELS.get(kind, kind), due, done, failed, still_open, rate
    )
