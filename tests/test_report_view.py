"""The report's view model on a real database: 人次 per local month and type, escalations with
their median time to acknowledge, follow-ups due so far."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import timedelta

from bot.services import Services
from bot.web.report_view import Period, build_report, parse_period
from tests.conftest import START
from tests.records_data import make_contacts, make_escalations, make_follow_ups, utc


async def test_a_year_counts_services_escalations_and_follow_ups(services: Services) -> None:
    zone = services.config.zone
    made = await make_contacts(services.db, 120, start=utc(2025, 12, 31, 10, 0), step_minutes=997)
    acked = {"P1": [2, 9, 4], "P2": [30, 50], "P3": []}
    spec = [
        (p, utc(2026, 2, 1, 3) + timedelta(hours=i), m)
        for p, ms in acked.items()
        for i, m in enumerate(ms)
    ]
    await make_escalations(services.db, [*spec, ("P3", utc(2026, 2, 2), None)])
    now = services.clock.now()
    await make_follow_ups(
        services.db,
        [
            ("check_in", "done", now - timedelta(days=3)),
            ("check_in", "failed", now - timedelta(days=2)),
            ("check_in", "scheduled", now - timedelta(hours=1)),
            ("check_in", "scheduled", now + timedelta(days=1)),  # not due yet
            ("callback", "done", now - timedelta(days=1)),
            ("callback", "cancelled", now - timedelta(days=1)),  # never due
        ],
    )
    report = await build_report(services, Period(2026))

    in_year = [c for c in made if c.started_at.astimezone(zone).year == 2026]
    expected = Counter((c.started_at.astimezone(zone).month, c.service_type) for c in in_year)
    assert len(report.services) == 12
    for month, row in enumerate(report.services, start=1):
        assert row.counts == {s: expected[(month, s)] for s in report.service_types}
    assert report.service_totals.total == len(in_year) < len(made)
    assert report.people == {
        s: len({c.pseudonym for c in in_year if c.service_type == s}) for s in report.service_types
    }
    by_priority = {row.priority: row for row in report.escalations}
    assert by_priority["P1"].median_seconds == statistics.median(acked["P1"]) * 60
    assert by_priority["P2"].median_seconds == statistics.median(acked["P2"]) * 60
    assert by_priority["P3"].opened == 1 and by_priority["P3"].median_seconds is None
    assert report.escalations_by_bucket[1] == {"P1": 3, "P2": 2, "P3": 1}
    follow_ups = {row.kind: row for row in report.follow_ups}
    assert (follow_ups["check_in"].due, follow_ups["check_in"].done) == (3, 1)
    assert (follow_ups["callback"].due, follow_ups["callback"].rate) == (1, "100%")


async def test_a_month_is_cut_into_its_local_days(services: Services) -> None:
    zone = services.config.zone
    made = await make_contacts(services.db, 60, start=utc(2026, 1, 31, 12, 0), step_minutes=67)
    report = await build_report(services, Period(2026, 2))
    assert len(report.services) == 28
    in_month = [c for c in made if c.started_at.astimezone(zone).month == 2]
    by_day = Counter(c.started_at.astimezone(zone).day for c in in_month)
    assert [row.total for row in report.services] == [by_day[d] for d in range(1, 29)]


def test_a_period_out_of_range_falls_back_to_this_year() -> None:
    today = START.date()
    assert parse_period({"year": "2025", "month": "12"}, today) == (Period(2025, 12), False)
    for bad in ({"year": "abc"}, {"year": "1999"}, {"year": "2026", "month": "13"}):
        assert parse_period(bad, today) == (Period(2026), True)
