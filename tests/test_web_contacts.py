"""The contact log for supervisors (issue 19): the real app on a loopback port, signed in
through the real form; filters, search, keyset pages, and who may see it."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from storage.models import AuditEvent
from tests.records_data import make_contacts, newest_first, utc
from tests.staff_site import StaffSite

START = utc(2026, 1, 5, 2, 0)
SUPERVISOR_ONLY = (
    "/staff/contacts",
    "/staff/contacts.csv",
    "/staff/contacts.xlsx",
    "/staff/reports?year=2026",
    "/staff/api/v1/contacts",
    "/staff/api/v1/reports?year=2026",
)


async def _all_ids(client, query: str) -> list[int]:  # type: ignore[no-untyped-def]
    ids, after = [], ""
    while True:
        response = await client.get(f"/staff/api/v1/contacts?{query}{after}")
        assert response.status == 200
        body = await response.json()
        ids += [row["id"] for row in body["rows"]]
        if body["next"] is None:
            return ids
        after = f"&after={body['next']}"


async def test_a_supervisor_filters_the_log_and_pages_through_it(
    staff_client: StaffSite,
) -> None:
    made = await make_contacts(staff_client.services.db, 130, start=START)
    client = await staff_client.signed_in("sup-liang")
    assert await _all_ids(client, "") == [c.id for c in newest_first(made)]
    sample = made[40]
    query = f"service={sample.service_type}&risk={sample.risk}"
    expected = [
        c.id
        for c in newest_first(made)
        if (c.service_type, c.risk) == (sample.service_type, sample.risk)
    ]
    assert await _all_ids(client, query) == expected
    worker = [c.id for c in newest_first(made) if c.handled_by == sample.handled_by]
    assert await _all_ids(client, f"worker={sample.handled_by}") == worker
    # Local days, both ends included: 5 January 10:00 in Shanghai is the first contact.
    day = [c.id for c in newest_first(made) if c.started_at < utc(2026, 1, 5, 16, 0)]
    assert await _all_ids(client, "from=2026-01-05&to=2026-01-05") == day


async def test_the_page_shows_rows_and_links_to_older_and_newer_pages(
    staff_client: StaffSite,
) -> None:
    made = newest_first(await make_contacts(staff_client.services.db, 70, start=START))
    client = await staff_client.signed_in("sup-liang")
    first = await client.get("/staff/contacts")
    page = await first.text()
    assert first.status == 200 and first.headers["Cache-Control"] == "no-store"
    assert made[0].pseudonym in page and 'rel="next"' in page and 'rel="prev"' not in page
    after = (await (await client.get("/staff/api/v1/contacts")).json())["next"]
    second = await (await client.get(f"/staff/contacts?after={after}")).text()
    zone = staff_client.services.config.zone
    shown = [f'datetime="{c.started_at.astimezone(zone).isoformat()}"' for c in made]
    assert shown[50] in second and shown[69] in second and shown[0] not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    body = await (await client.get(f"/staff/api/v1/contacts?after={after}")).json()
    assert [row["id"] for row in body["rows"]] == [c.id for c in made[50:]]


async def test_search_finds_summaries_and_is_never_logged_at_info(
    staff_client: StaffSite, caplog: pytest.LogCaptureFixture
) -> None:
    made = await make_contacts(staff_client.services.db, 40, start=START)
    client = await staff_client.signed_in("sup-liang")
    caplog.set_level(logging.INFO)
    term = "100%满意"
    ids = await _all_ids(client, f"q={term}")
    assert ids == [c.id for c in newest_first(made) if term in c.summary] and ids
    page = await client.get(f"/staff/contacts?q={term}")
    assert page.status == 200 and f'value="{term}"' in await page.text()
    csv = await client.get(f"/staff/contacts.csv?q={term}")
    assert csv.status == 200
    await csv.read()
    assert term not in caplog.text and "满意" not in caplog.text


async def test_an_unknown_filter_value_is_named_and_ignored(staff_client: StaffSite) -> None:
    made = await make_contacts(staff_client.services.db, 5, start=START)
    client = await staff_client.signed_in("admin")
    response = await client.get("/staff/contacts?channel=fax&risk=high<script>")
    page = await response.text()
    assert response.status == 200 and "渠道" in page and "<script>" not in page
    assert len(made) == 5
    refused = await client.get("/staff/api/v1/contacts?channel=fax")
    body = await refused.json()
    assert refused.status == 400 and body["fields"][0]["field"] == "channel", "the API is strict"


async def test_a_social_worker_gets_403_on_the_log_exports_and_reports(
    staff_client: StaffSite,
) -> None:
    worker = await staff_client.signed_in("sw-chen")
    for path in SUPERVISOR_ONLY:
        response = await worker.get(path)
        assert response.status == 403, path
    anonymous = staff_client.anonymous()
    for path in SUPERVISOR_ONLY:
        async with anonymous.get(staff_client.base + path, allow_redirects=False) as response:
            assert response.status == (401 if "/api/" in path else 303), path


async def test_every_page_of_the_json_log_is_audited_as_an_export(
    staff_client: StaffSite,
) -> None:
    made = await make_contacts(staff_client.services.db, 70, start=START)
    client = await staff_client.signed_in("sup-liang")
    risk = made[0].risk
    ids = await _all_ids(client, f"risk={risk}")
    async with staff_client.services.db.session() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "contacts.export")
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [e.actor for e in events] == ["sup-liang"] * len(events) and events
    assert {e.detail["format"] for e in events} == {"json"}
    assert {tuple(e.detail["filters"].items()) for e in events} == {(("risk", risk),)}
    assert sum(e.detail["rows"] for e in events) == len(ids)
