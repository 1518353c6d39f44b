"""The staff pages in a real browser on a phone-sized screen: sign-in, the layout, access."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import check_accessibility, fits_the_width, sign_in
from tests.staff_site import StaffSite


async def test_signing_in_on_a_phone(staff_client: StaffSite, browser_page: Any) -> None:
    page = browser_page
    await page.goto(staff_client.base + "/staff/admin")
    assert "/staff/sign-in" in page.url, "asked to sign in first"
    await check_accessibility(page)
    assert await fits_the_width(page)

    await page.get_by_label("用户名").fill("admin")
    await page.get_by_label("密码").fill(staff_client.passwords["admin"])
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/staff/admin")
    assert await page.get_by_role("heading", name="系统管理").is_visible()
    await check_accessibility(page)
    assert await fits_the_width(page)


async def test_a_wrong_password_is_announced(staff_client: StaffSite, browser_page: Any) -> None:
    page = browser_page
    await page.goto(staff_client.base + "/staff/sign-in")
    await page.get_by_label("用户名").fill("sw-chen")
    await page.get_by_label("密码").fill("wrong password")
    await page.get_by_role("button", name="登录").click()
    alert = page.get_by_role("alert")
    assert "用户名或密码不正确" in await alert.inner_text()
    await check_accessibility(page)


async def test_the_navigation_follows_the_role(staff_client: StaffSite, browser_page: Any) -> None:
    page = browser_page
    await sign_in(page, staff_client.base, "sw-chen", staff_client.passwords["sw-chen"])
    await page.goto(staff_client.base + "/staff/")
    nav = page.get_by_role("navigation")
    assert await nav.get_by_role("link", name="求助队列").count() == 1
    assert await nav.get_by_role("link", name="统计报表").count() == 0
    assert await nav.get_by_role("link", name="系统管理").count() == 0
    await check_accessibility(page)
    await page.get_by_role("button", name="退出登录").click()
    await page.wait_for_url("**/staff/sign-in")


async def test_the_audit_log_on_a_phone(staff_client: StaffSite, browser_page: Any) -> None:
    page = browser_page
    await sign_in(page, staff_client.base, "sup-liang", staff_client.passwords["sup-liang"])
    await page.goto(staff_client.base + "/staff/audit")
    rows = page.get_by_role("row")
    assert await rows.count() >= 2, "the sign-in itself is in the log"
    assert "staff.sign_in" in await page.get_by_role("table").inner_text()
    await page.get_by_label("操作", exact=True).fill("staff.sign_in")
    await page.get_by_role("button", name="筛选").click()
    await page.wait_for_url("**action=staff.sign_in**")
    await check_accessibility(page)
    assert await fits_the_width(page)
