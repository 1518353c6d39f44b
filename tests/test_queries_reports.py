"""The reports' aggregations and the portable median, on SQLite and PostgreSQL."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from intents import ServiceType
from storage.db import Database
from storage.queries import reports
from tests.records_data import make_contacts, make_escalations, make_follow_ups, utc

SHANGHAI = ZoneInfo("Asia/Shanghai")
SERVICE_TYPES = [s.value for s in ServiceType]


def _month_starts(year: int) -> list[datetime]:
    return [datetime(year, m, 1, tzinfo=SHANGHAI) for m in range(1, 13)] + [
        datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
    ]


async def test_services_are_counted_per_local_month_and_type(database: Database) -> None:
    # Every 9 hours from 30 Dec (UTC): some fall in the previous year, and a contact at
    # 17:00 UTC on the last of a month is the first of the next in Shanghai.
    made = await make_contacts(database, 500, start=utc(2025, 12, 30, 17, 0), step_minutes=540)
    bounds = _month_starts(2026)
    async with database.session() as session:
        counted = await reports.services_by_bucket(session, bounds, SERVICE_TYPES)
        people = await reports.people_by_service(session, bounds[0], bounds[-1])
    in_year = [c for c in made if bounds[0] <= c.started_at < bounds[-1]]
    expected = Counter(
        (c.started_at.astimezone(SHANGHAI).month - 1, c.service_type) for c in in_year
    )
    assert counted == dict(expected)
    assert len(in_year) < len(made)
    assert people == {
        service: len({c.pseudonym for c in in_year if c.service_type == service})
        for service in {c.service_type for c in in_year}
    }


async def test_escalations_per_month_and_median_time_to_acknowledge(database: Database) -> None:
    opened = utc(2026, 4, 10, 2, 0)
    minutes = {"P1": [3, 1, 12, 5, 7], "P2": [40, 10, 25, 90], "P3": []}
    spec = [
        (p, opened + timedelta(hours=i), m) for p, ms in minutes.items() for i, m in enumerate(ms)
    ]
    spec += [("P1", opened, None), ("P3", opened, None), ("P1", utc(2025, 4, 1), 1.0)]
    await make_escalations(database, spec)
    bounds = _month_starts(2026)
    async with database.session() as session:
        by_month = await reports.escalations_by_bucket(session, bounds, ("P1", "P2", "P3"))
        figures = {
            p: await reports.acknowledgement(session, bounds[0], bounds[-1], p)
            for p in ("P1", "P2", "P3")
        }
    assert by_month == {(3, "P1"): 6, (3, "P2"): 4, (3, "P3"): 1}
    for priority, ms in minutes.items():
        figure = figures[priority]
        assert figure.acknowledged == len(ms)
        assert figure.opened == len(ms) + (priority != "P2")
        if ms:
            assert figure.median_seconds == statistics.median(ms) * 60
        else:
            assert figure.median_seconds is None


async def test_follow_ups_are_counted_by_kind_and_status_when_due(database: Database) -> None:
    due = utc(2026, 6, 1, 1, 0)
    spec = [
        ("check_in", "done", due),
        ("check_in", "done", due + timedelta(days=3)),
        ("check_in", "failed", due),
        ("callback", "done", due),
        ("callback", "scheduled", due + timedelta(days=40)),
        ("check_in", "done", utc(2025, 6, 1)),
    ]
    await make_follow_ups(database, spec)
    async with database.session() as session:
        counted = await reports.follow_ups_by_status(session, due, due + timedelta(days=30))
    assert counted == {("check_in", "done"): 2, ("check_in", "failed"): 1, ("callback", "done"): 1}
