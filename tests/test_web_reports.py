"""The reports page and its JSON twin (issue 19): the programme's counts, the median time to
acknowledge, follow-ups done vs due, and charts that say what they show."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import timedelta

from tests.records_data import make_contacts, make_escalations, make_follow_ups, utc
from tests.staff_site import StaffSite


async def test_the_annual_report_counts_what_the_data_holds(staff_client: StaffSite) -> None:
    zone = staff_client.services.config.zone
    made = await make_contacts(
        staff_client.services.db, 90, start=utc(2025, 12, 28, 3, 0), step_minutes=600
    )
    minutes = [4, 18, 7, 30]
    opened = utc(2026, 2, 3, 1, 0)
    await make_escalations(
        staff_client.services.db,
        [("P1", opened + timedelta(hours=i), m) for i, m in enumerate(minutes)]
        + [("P2", opened, None)],
    )
    now = staff_client.services.clock.now()
    await make_follow_ups(
        staff_client.services.db,
        [("callback", "done", now - timedelta(days=1)), ("callback", "failed", now)],
    )
    client = await staff_client.signed_in("sup-liang")
    body = await (await client.get("/staff/api/v1/reports?year=2026")).json()

    in_year = [c for c in made if c.started_at.astimezone(zone).year == 2026]
    by_month = Counter((c.started_at.astimezone(zone).month, c.service_type) for c in in_year)
    for month, row in enumerate(body["services"], start=1):
        assert row["counts"] == {s: by_month[(month, s)] for s in body["service_types"]}
    assert body["service_totals"]["total"] == len(in_year)
    p1 = next(row for row in body["escalations"] if row["priority"] == "P1")
    assert (p1["opened"], p1["acknowledged"]) == (4, 4)
    assert p1["median_seconds"] == statistics.median(minutes) * 60
    callbacks = next(row for row in body["follow_ups"] if row["kind"] == "callback")
    assert (callbacks["due"], callbacks["done"], callbacks["rate"]) == (1, 1, "100%")

    page = await client.get("/staff/reports?year=2026")
    html = await page.text()
    assert page.status == 200
    assert html.count('role="img"') == 3 and html.count("<title id=") == 3
    assert "陪伴式" in html and "12.5 分钟" in html
    total = body["service_totals"]["total"]
    assert re.search(rf'<td class="num">{total}</td>', html)


async def test_a_month_report_and_a_bad_period(staff_client: StaffSite) -> None:
    made = await make_contacts(
        staff_client.services.db, 40, start=utc(2026, 3, 1, 0, 0), step_minutes=300
    )
    client = await staff_client.signed_in("admin")
    body = await (await client.get("/staff/api/v1/reports?year=2026&month=3")).json()
    assert len(body["services"]) == 31 and body["month"] == 3
    assert body["service_totals"]["total"] == len(made)
    bad = await client.get("/staff/api/v1/reports?year=2026&month=13")
    assert bad.status == 400
    page = await client.get("/staff/reports?year=abc")
    assert page.status == 200 and "年份或月份无效" in await page.text()
