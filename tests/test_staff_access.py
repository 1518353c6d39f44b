"""Signing in to the staff pages: sessions, roles, CSRF, the sign-in limit (issue 19, item 2).
The real app on a loopback port, a real SQLite file, the real sign-in form."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from yarl import URL

from bot.web.keys import SECRETS
from storage import queries
from storage.models import AuditEvent, StaffSession
from tests.staff_site import StaffSite, csrf_in, sign_in


async def _audited(site: StaffSite, action: str) -> int:
    async with site.services.db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


async def test_signing_in_opens_a_session_with_a_safe_cookie(staff_client: StaffSite) -> None:
    session = staff_client.anonymous()
    response = await sign_in(
        session, staff_client.base, "sw-chen", staff_client.passwords["sw-chen"]
    )
    assert response.status == 303
    assert response.headers["Location"] == "/staff/queue"
    cookie = response.cookies["careline_staff"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/staff"
    async with session.get(staff_client.base + "/staff/") as home:
        page = await home.text()
    assert home.status == 200 and "sw-chen" in page and "社工" in page
    assert "default-src 'none'" in home.headers["Content-Security-Policy"]
    assert home.headers["Cache-Control"] == "no-store"
    assert await _audited(staff_client, "staff.sign_in") == 1
    async with staff_client.services.db.session() as db:
        stored = (await db.scalars(select(StaffSession))).all()
    assert len(stored) == 1 and cookie.value not in stored[0].token_hash, "only a hash is kept"


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    staff_client: StaffSite,
) -> None:
    session = staff_client.anonymous()
    wrong = await sign_in(session, staff_client.base, "sw-chen", "not-the-password")
    unknown = await sign_in(session, staff_client.base, "nobody", "not-the-password")
    assert wrong.status == unknown.status == 401
    assert "用户名或密码不正确" in await wrong.text()
    assert "用户名或密码不正确" in await unknown.text()
    assert "careline_staff" not in session.cookie_jar.filter_cookies(URL(staff_client.base))
    assert await _audited(staff_client, "staff.sign_in_failed") == 2


async def test_an_unknown_username_is_never_stored_yet_its_tries_still_count(
    staff_client: StaffSite,
) -> None:
    """A password typed into the username field must not become readable in the audit log."""
    typed = "Hunter2-密码!"
    session = staff_client.anonymous()
    for _ in range(5):
        assert (await sign_in(session, staff_client.base, typed, "x")).status == 401
    assert (await sign_in(session, staff_client.base, typed, "x")).status == 429
    async with staff_client.services.db.session() as db:
        failures = (
            await db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.sign_in_failed"))
        ).all()
    assert len(failures) == 5
    assert len({(e.actor, e.detail["username"]) for e in failures}) == 1, "one name, counted"
    for event in failures:
        assert typed not in event.actor and typed not in str(event.detail)
        assert event.actor.startswith("未知用户名#")
    known = await sign_in(session, staff_client.base, "sw-chen", "wrong")
    assert known.status == 401
    async with staff_client.services.db.session() as db:
        named = await db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "staff.sign_in_failed", AuditEvent.actor == "sw-chen")
        )
    assert named == 1, "an account's own name is kept: supervisors see who was tried"


async def test_too_many_failures_lock_the_account_for_a_while(staff_client: StaffSite) -> None:
    session = staff_client.anonymous()
    for _ in range(5):
        assert (await sign_in(session, staff_client.base, "sw-lin", "guess")).status == 401
    right = staff_client.passwords["sw-lin"]
    locked = await sign_in(session, staff_client.base, "sw-lin", right)
    assert locked.status == 429 and "15分钟" in await locked.text()
    other = await sign_in(session, staff_client.base, "sw-chen", staff_client.passwords["sw-chen"])
    assert other.status == 303, "another account from the same place is not locked out yet"
    staff_client.services.clock.advance(minutes=16)
    assert (
        await sign_in(staff_client.anonymous(), staff_client.base, "sw-lin", right)
    ).status == 303


async def test_the_sign_in_form_needs_its_own_csrf_value(staff_client: StaffSite) -> None:
    session = staff_client.anonymous()
    response = await session.post(
        staff_client.base + "/staff/sign-in",
        data={"username": "sw-chen", "password": staff_client.passwords["sw-chen"]},
        allow_redirects=False,
    )
    assert response.status == 403
    assert "careline_staff" not in {c.key for c in session.cookie_jar}


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/elsewhere"])
async def test_next_never_leaves_the_staff_pages(staff_client: StaffSite, target: str) -> None:
    session = staff_client.anonymous()
    response = await sign_in(
        session, staff_client.base, "sw-chen", staff_client.passwords["sw-chen"], next_=target
    )
    assert response.headers["Location"] == "/staff/queue"


async def test_pages_ask_for_a_sign_in_and_the_api_says_401(staff_client: StaffSite) -> None:
    session = staff_client.anonymous()
    page = await session.get(staff_client.base + "/staff/admin", allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"] == "/staff/sign-in?next=/staff/admin"
    api = await session.get(staff_client.base + "/staff/api/v1/anything", allow_redirects=False)
    assert api.status in (401, 404)


async def test_roles_decide_who_sees_the_admin_page(staff_client: StaffSite) -> None:
    worker = await staff_client.signed_in("sw-chen")
    supervisor = await staff_client.signed_in("sup-liang")
    admin = await staff_client.signed_in("admin")
    assert (await worker.get("/staff/admin")).status == 403
    assert (await supervisor.get("/staff/admin")).status == 403
    page = await admin.get("/staff/admin")
    text = await page.text()
    assert page.status == 200 and "sw-chen" in text and "CARELINE_API_TOKEN" in text
    secret = staff_client.server.app[SECRETS].api_token  # the value itself is never shown
    assert secret and secret not in text


async def test_signing_out_ends_the_session_even_for_a_copied_cookie(
    staff_client: StaffSite,
) -> None:
    worker = await staff_client.signed_in("sw-chen")
    cookie = worker.session.cookie_jar.filter_cookies(URL(staff_client.base + "/staff/"))[
        "careline_staff"
    ]
    refused = await worker.post_form("/staff/sign-out", {}, csrf=False)
    assert refused.status == 403, "a sign-out without the token is refused"
    out = await worker.post_form("/staff/sign-out", {})
    assert out.status == 303
    copy = staff_client.anonymous()
    copy.cookie_jar.update_cookies({"careline_staff": cookie.value})
    again = await copy.get(staff_client.base + "/staff/", allow_redirects=False)
    assert again.status == 303 and again.headers["Location"].startswith("/staff/sign-in")


async def test_a_session_ends_after_a_shift(staff_client: StaffSite) -> None:
    worker = await staff_client.signed_in("sw-chen")
    staff_client.services.clock.advance(hours=14)
    response = await worker.get("/staff/")
    assert response.status == 303


async def test_each_session_has_its_own_csrf_token(staff_client: StaffSite) -> None:
    one = await staff_client.signed_in("sw-chen")
    two = await staff_client.signed_in("sw-chen")
    assert one.csrf != two.csrf
    crossed = await one.session.post(
        one.url("/staff/sign-out"), data={"csrf": two.csrf}, allow_redirects=False
    )
    assert crossed.status == 403
    header = await one.session.post(
        one.url("/staff/sign-out"), headers={"X-CSRF-Token": one.csrf}, allow_redirects=False
    )
    assert header.status == 303


async def test_a_disabled_account_is_signed_out_at_once(staff_client: StaffSite) -> None:
    worker = await staff_client.signed_in("sw-lin")
    async with staff_client.services.db.write() as session:
        from storage import queries

        user = await queries.staff_by_username(session, "sw-lin")
        assert user is not None
        user.active = False
    assert (await worker.get("/staff/")).status == 303
    page = await (await staff_client.anonymous().get(staff_client.base + "/staff/sign-in")).text()
    assert csrf_in(page)


async def test_failures_elsewhere_do_not_lock_a_worker_out_early(staff_client: StaffSite) -> None:
    """Five wrong guesses from one address lock that address out of the account, not her."""
    services = staff_client.services
    now = services.clock.now()
    async with services.db.write() as session:
        for n in range(5):
            await queries.audit(
                session,
                actor="sw-lin",
                action="staff.sign_in_failed",
                object_type="staffuser",
                object_id=None,
                at=now,
                detail={"username": "sw-lin", "address": f"203.0.113.{n % 2}"},
            )
    async with services.db.session() as session:
        elsewhere = await queries.failed_sign_ins_since(
            session, username="sw-lin", address="203.0.113.0", since=now
        )
    assert (elsewhere.for_user_here, elsewhere.for_user, elsewhere.from_address) == (3, 5, 3)
    session = staff_client.anonymous()
    right = staff_client.passwords["sw-lin"]
    assert (await sign_in(session, staff_client.base, "sw-lin", right)).status == 303
