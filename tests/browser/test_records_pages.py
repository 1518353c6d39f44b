"""The contact log and the reports in a real browser on a 360 px screen: usable, within the
width, and without a serious accessibility issue."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import check_accessibility, fits_the_width, sign_in
from tests.records_data import make_contacts, make_escalations, utc
from tests.staff_site import StaffSite


async def test_the_contact_log_and_reports_on_a_phone(
    staff_client: StaffSite, browser_page: Any
) -> None:
    made = await make_contacts(staff_client.services.db, 60, start=utc(2026, 1, 3, 2, 0))
    await make_escalations(staff_client.services.db, [("P1", utc(2026, 2, 1, 2, 0), 6.0)])
    page = browser_page
    await sign_in(page, staff_client.base, "sup-liang", staff_client.passwords["sup-liang"])

    await page.goto(staff_client.base + "/staff/contacts")
    assert await page.get_by_role("heading", name="服务记录", level=1).is_visible()
    await check_accessibility(page)
    assert await fits_the_width(page)
    await page.get_by_label("风险").select_option(made[0].risk)
    await page.get_by_role("button", name="筛选", exact=True).click()
    await page.wait_for_url(f"**risk={made[0].risk}**")
    await check_accessibility(page)

    await page.goto(staff_client.base + "/staff/reports?year=2026")
    charts = page.get_by_role("img")
    assert await charts.count() == 3
    assert await page.get_by_role("img", name="2026年各月服务人次").count() == 1
    assert await page.get_by_role("table").count() == 3
    await check_accessibility(page)
    assert await fits_the_width(page)
