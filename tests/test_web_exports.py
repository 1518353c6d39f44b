"""Contact exports (issue 19): CSV with a BOM and XLSX read back with openpyxl, the same
filters as the log, the formula guard, and an audit row for every export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import select

from bot.web.export_rows import HEADERS
from storage.models import AuditEvent, Contact, Person
from tests.records_data import make_contacts, newest_first, utc
from tests.staff_site import StaffSite

START = utc(2026, 2, 1, 2, 0)
RISKY_WORKER = '=HYPERLINK("http://evil.example","点我")'
RISKY_SUMMARY = "@SUM(1+1)*cmd|' /C calc'!A0"


async def _add_risky_contact(site: StaffSite) -> int:
    async with site.services.db.write() as session:
        person = Person(pseudonym="M-RISKY1")
        session.add(person)
        await session.flush()
        contact = Contact(
            person_id=person.id,
            channel="hotline",
            service_type="支持式",
            intent="legal_aid",
            summary=RISKY_SUMMARY,
            started_at=START - timedelta(days=1),
            ended_at=START - timedelta(days=1),
            handled_by=RISKY_WORKER,
        )
        session.add(contact)
        await session.flush()
        return contact.id


async def _exports(site: StaffSite) -> list[AuditEvent]:
    async with site.services.db.session() as session:
        found = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "contacts.export").order_by(AuditEvent.id)
        )
        return list(found.all())


async def test_csv_has_a_bom_every_filtered_contact_and_guarded_cells(
    staff_client: StaffSite,
) -> None:
    made = await make_contacts(staff_client.services.db, 80, start=START)
    risky = await _add_risky_contact(staff_client)
    client = await staff_client.signed_in("sup-liang")
    response = await client.get("/staff/contacts.csv")
    raw = await response.read()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == HEADERS
    assert [int(r[0]) for r in rows[1:]] == [c.id for c in newest_first(made)] + [risky]
    last = rows[-1]
    assert last[HEADERS.index("处理人")] == "'" + RISKY_WORKER
    assert last[HEADERS.index("摘要")] == "'" + RISKY_SUMMARY
    sample = made[3]
    filtered = await client.get(
        f"/staff/contacts.csv?channel={sample.channel}&intent={sample.intent}"
    )
    filtered_rows = list(csv.reader(io.StringIO((await filtered.read()).decode("utf-8-sig"))))
    expected = [
        c.id for c in newest_first(made) if (c.channel, c.intent) == (sample.channel, sample.intent)
    ]
    assert [int(r[0]) for r in filtered_rows[1:]] == expected


async def test_xlsx_reads_back_with_the_same_rows_as_text_never_formulas(
    staff_client: StaffSite, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    made = await make_contacts(staff_client.services.db, 45, start=START)
    risky = await _add_risky_contact(staff_client)
    client = await staff_client.signed_in("admin")
    response = await client.get("/staff/contacts.xlsx?from=2026-01-01&to=2026-12-31")
    body = await response.read()
    assert response.status == 200 and response.headers["Content-Type"].endswith(".sheet")
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(body)
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    assert [r[0] for r in rows[1:]] == [c.id for c in newest_first(made)] + [risky]
    zone = staff_client.services.config.zone
    first = newest_first(made)[0]
    assert rows[1][1] == first.started_at.astimezone(zone).replace(tzinfo=None)
    assert rows[1][3] == first.pseudonym and rows[1][5] == first.service_type
    cells = list(openpyxl.load_workbook(path).worksheets[0].iter_rows())[-1]
    worker = cells[HEADERS.index("处理人")]
    assert worker.data_type == "s" and worker.value == "'" + RISKY_WORKER


async def test_every_export_is_audited_with_who_filters_and_rows(
    staff_client: StaffSite,
) -> None:
    made = await make_contacts(staff_client.services.db, 30, start=START)
    client = await staff_client.signed_in("sup-liang")
    risk = made[0].risk
    await (await client.get(f"/staff/contacts.csv?risk={risk}&q=第")).read()
    await (await client.get("/staff/contacts.xlsx")).read()
    csv_event, xlsx_event = await _exports(staff_client)
    assert (csv_event.actor, xlsx_event.actor) == ("sup-liang", "sup-liang")
    assert csv_event.detail == {
        "format": "csv",
        "filters": {"risk": risk, "q": "第"},
        "rows": sum(1 for c in made if c.risk == risk),
        "complete": True,
    }
    assert xlsx_event.detail == {"format": "xlsx", "filters": {}, "rows": 30, "complete": True}
    assert xlsx_event.at == staff_client.services.clock.now()


@pytest.mark.parametrize("path", ["/staff/contacts.csv", "/staff/contacts.xlsx"])
async def test_an_export_with_a_filter_it_cannot_apply_is_refused_not_widened(
    staff_client: StaffSite, path: str
) -> None:
    await make_contacts(staff_client.services.db, 5, start=START)
    client = await staff_client.signed_in("sup-liang")
    response = await client.get(f"{path}?risk=not-a-level&to=2026-02-30")
    assert response.status == 400
    body = await response.text()
    assert "风险" in body and "结束日期" in body, body
    assert await _exports(staff_client) == []
