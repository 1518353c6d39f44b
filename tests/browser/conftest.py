"""Browser tests: Playwright driving Debian's chromium (never a downloaded browser).

Without chromium they skip with the reason; ``.ci/run`` installs it and sets
``CARELINE_TEST_BROWSER=1``, which makes a missing browser a failure instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("CARELINE_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("CARELINE_TEST_BROWSER") == "1"
# What a phone shows: the narrowest width.
PHONE = {"width": 360, "height": 740}
# As the machine's own probe starts it: headless, nothing fetched from the network.
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS = ("serious", "critical")


def _have_chromium() -> bool:
    return os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM) is not None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not _have_chromium():
        message = (
            f"no chromium at {CHROMIUM}: install Debian's `chromium` package "
            "(`.ci/run` does) to run the browser tests"
        )
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def browser_page(browser: Any) -> AsyncIterator[Any]:
    """A phone-sized page (360 × 740, touch, zh-CN)."""
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()


async def check_accessibility(page: Any) -> None:
    """axe-core on the page as it is now: no serious or critical issue."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    details = [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in serious]
    assert not serious, f"accessibility issues on {page.url}:\n" + "\n".join(details)


async def fits_the_width(page: Any) -> bool:
    """Nothing makes the whole page scroll sideways (wide tables scroll inside their box)."""
    return await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )


async def sign_in(page: Any, base: str, username: str, password: str) -> None:
    await page.goto(base + "/staff/sign-in")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(lambda url: "/staff/sign-in" not in url)
