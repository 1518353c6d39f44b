"""The staff pages as an attacker tries them: every route behind sign-in and its role, the
security headers on every answer (error pages too), and input that is out of range answered
with a clear 4xx. The real app on a loopback port (``staff_client``)."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

from aiohttp import web
from sqlalchemy import func, select
from yarl import URL

from storage.models import (
    AuditEvent,
    CaseNote,
    Escalation,
    EscalationStatus,
    FollowUp,
    StaffSession,
)
from tests.escalation_rows import add_escalation
from tests.staff_site import StaffSite, sign_in

# What a social worker may reach; anything else under /staff/ is for supervisors or admins, so
# a new route is refused to her until it is added here on purpose.
SOCIAL_WORKER_ROUTES = {
    ("GET", "/staff/"),
    ("GET", "/staff/queue"),
    ("GET", "/staff/queue/events"),
    ("POST", "/staff/queue/{id}/acknowledge"),
    ("POST", "/staff/queue/{id}/resolve"),
    ("GET", "/staff/cases/{person_id}"),
    ("POST", "/staff/cases/{person_id}/notes"),
    ("POST", "/staff/cases/{person_id}/callbacks"),
    ("POST", "/staff/sign-out"),
    ("GET", "/staff/api/openapi.json"),
    ("GET", "/staff/api/v1/escalations"),
    ("POST", "/staff/api/v1/escalations/{id}/acknowledge"),
    ("POST", "/staff/api/v1/escalations/{id}/resolve"),
    ("GET", "/staff/api/v1/cases/{person_id}"),
}
OPEN = {"/staff/sign-in", "/staff"}  # the form, and the redirect to /staff/
_PARAMETER = re.compile(r"\{(\w+)(?::(?:[^{}]|\{[^{}]*\})+)?\}")


def staff_routes(app: web.Application) -> list[tuple[str, str]]:
    """Each (method, path pattern) under /staff/ but the sign-in form and static files."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        pattern = info.get("formatter") or info.get("path") or info.get("prefix", "")
        if not pattern.startswith("/staff") or pattern in OPEN or "prefix" in info:
            continue
        if route.method in ("HEAD", "OPTIONS"):
            continue
        found.append((route.method, _PARAMETER.sub(r"{\1}", pattern)))
    return found


def concrete(pattern: str) -> str:
    return _PARAMETER.sub("1", pattern)


async def test_every_staff_route_refuses_an_anonymous_request(staff_client: StaffSite) -> None:
    routes = staff_routes(staff_client.server.app)
    assert len(routes) >= len(SOCIAL_WORKER_ROUTES)
    session = staff_client.anonymous()
    for method, pattern in routes:
        async with session.request(
            method, staff_client.base + concrete(pattern), allow_redirects=False
        ) as response:
            if pattern.startswith("/staff/api/"):
                assert response.status == 401, (method, pattern)
            else:
                assert response.status == 303, (method, pattern)
                assert response.headers["Location"].startswith("/staff/sign-in?next="), pattern


async def test_a_social_worker_reaches_only_her_own_routes(staff_client: StaffSite) -> None:
    chen = await staff_client.signed_in("sw-chen")
    supervisor_only = [
        r for r in staff_routes(staff_client.server.app) if r not in SOCIAL_WORKER_ROUTES
    ]
    assert ("GET", "/staff/contacts.xlsx") in supervisor_only
    assert ("GET", "/staff/api/v1/audit") in supervisor_only
    for method, pattern in supervisor_only:
        headers = {"X-CSRF-Token": chen.csrf}
        async with chen.session.request(
            method, chen.url(concrete(pattern)), headers=headers, allow_redirects=False
        ) as response:
            assert response.status == 403, (method, pattern)


async def test_error_pages_carry_the_security_headers(staff_client: StaffSite) -> None:
    chen = await staff_client.signed_in("sw-chen")
    answers = [
        await chen.get("/staff/cases/987654"),  # 404
        await chen.get("/staff/audit"),  # 403: a supervisor's page
        await chen.post_form("/staff/cases/1/notes", {"note": "x"}, csrf=False),  # 403: CSRF
        await chen.get("/staff/no-such-page"),  # 404 of the router
        await staff_client.anonymous().get(staff_client.base + "/staff/api/v1/escalations"),
    ]
    for response in answers:
        assert response.status in (401, 403, 404), response.url
        assert "default-src 'none'" in response.headers.get("Content-Security-Policy", ""), (
            response.url
        )
        assert response.headers.get("X-Frame-Options") == "DENY", response.url
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.url


async def test_out_of_range_numbers_and_dates_get_a_clear_4xx(staff_client: StaffSite) -> None:
    supervisor = await staff_client.signed_in("sup-liang")
    failed = []
    huge = "9" * 30
    forged = base64.urlsafe_b64encode(f"2026-01-01T00:00:00+00:00|{huge}".encode()).decode()
    for path in (
        f"/staff/cases/{huge}",
        f"/staff/api/v1/cases/{huge}",
        f"/staff/audit?before={huge}",
        f"/staff/api/v1/audit?before={huge}",
        "/staff/audit?to=9999-12-31",
        "/staff/api/v1/audit?to=9999-12-31",
        "/staff/contacts?to=9999-12-31",
        "/staff/api/v1/contacts?to=9999-12-31",
        "/staff/contacts.csv?to=9999-12-31",
        f"/staff/contacts?after={forged}",
        f"/staff/api/v1/contacts?before={forged}",
        "/staff/reports?year=99999",
        "/staff/reports?year=-1&month=13",
        "/staff/api/v1/reports?year=99999",
        "/staff/reports?year=9999&month=12",
        "/staff/reports?year=9999",
        "/staff/api/v1/reports?year=9999&month=12",
    ):
        response = await supervisor.get(path)
        if response.status >= 500:
            failed.append(path)
    for path in (f"/staff/queue/{huge}/acknowledge", f"/staff/cases/{huge}/notes"):
        response = await supervisor.post_form(path, {"note": "x"})
        if response.status >= 500:
            failed.append(path)
    response = await supervisor.session.post(
        supervisor.url(f"/staff/api/v1/escalations/{huge}/resolve"),
        headers={"X-CSRF-Token": supervisor.csrf},
        json={},
    )
    if response.status >= 500:
        failed.append("api resolve")
    assert failed == []


async def _state(site: StaffSite) -> tuple[int, ...]:
    async with site.services.db.session() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(table))
            for table in (AuditEvent, CaseNote, FollowUp, StaffSession)
        ]
        statuses = (await session.scalars(select(Escalation.status))).all()
    return (*counts, *sorted(statuses))


async def test_every_write_without_or_with_a_wrong_csrf_token_is_403_and_changes_nothing(
    staff_client: StaffSite,
) -> None:
    escalation = await add_escalation(
        staff_client.services.db,
        staff_client.services.pipeline.cipher,
        phone="13812340001",
        at=staff_client.services.clock.now() - timedelta(minutes=5),
    )
    ids = {"id": str(escalation.id), "person_id": str(escalation.person_id)}
    supervisor = await staff_client.signed_in("sup-liang")
    writes = [
        pattern for method, pattern in staff_routes(staff_client.server.app) if method == "POST"
    ]
    assert len(writes) >= 7
    form = {"note": "记录", "due": "2030-01-01T10:00"}
    before = await _state(staff_client)
    for pattern in writes:
        path = _PARAMETER.sub(lambda m: ids[m.group(1)], pattern)
        for attempt in (
            {"data": form},
            {"data": {**form, "csrf": "forged"}},
            {"json": {"note": "记录"}},
            {"json": {"note": "记录"}, "headers": {"X-CSRF-Token": "forged"}},
            {"data": form, "headers": {"X-CSRF-Token": ""}},
        ):
            async with supervisor.session.post(
                supervisor.url(path), allow_redirects=False, **attempt
            ) as response:
                assert response.status == 403, (pattern, attempt)
    assert await _state(staff_client) == before
    assert (await supervisor.get("/staff/queue")).status == 200, "still signed in"


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>javascript:alert(3)\u202e\u200b'
# A worker id is at most 64 characters (PostgreSQL enforces it; SQLite does not).
HOSTILE_ID = '"><img src=x onerror=alert(4)>\u202e\u200b'


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


async def test_hostile_text_is_inert_on_every_page_fragment_and_the_json(
    staff_client: StaffSite,
) -> None:
    escalation = await add_escalation(
        staff_client.services.db,
        staff_client.services.pipeline.cipher,
        phone="13812340001",
        at=staff_client.services.clock.now() - timedelta(minutes=5),
        status=EscalationStatus.ACKNOWLEDGED,
        taken_by=HOSTILE_ID,  # a worker id from a call system, not on the roster
        text=HOSTILE,
        reason=HOSTILE,
        risk_reasons=(HOSTILE,),
    )
    supervisor = await staff_client.signed_in("sup-liang")
    case = f"/staff/cases/{escalation.person_id}"
    assert (await supervisor.post_form(case + "/notes", {"note": HOSTILE})).status == 303
    for path in ("/staff/queue", "/staff/queue?fragment=1", case, "/staff/audit"):
        response = await supervisor.get(path)
        page = await response.text()
        assert response.status == 200 and response.content_type == "text/html", path
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(1)" in page or path == "/staff/audit", path
    for path in ("/staff/api/v1/escalations", f"/staff/api/v1/cases/{escalation.person_id}"):
        response = await supervisor.get(path)
        assert response.content_type == "application/json", path
        # JSON carries her text as it is; the page that shows it must escape it.
        assert HOSTILE in _strings(await response.json()), path


async def test_a_cookie_planted_before_sign_in_never_becomes_the_session(
    staff_client: StaffSite,
) -> None:
    planted = "attacker-chosen-token-" + "x" * 20
    session = staff_client.anonymous()
    session.cookie_jar.update_cookies({"careline_staff": planted}, URL(staff_client.base))
    response = await sign_in(
        session, staff_client.base, "sw-chen", staff_client.passwords["sw-chen"]
    )
    assert response.status == 303
    assert response.cookies["careline_staff"].value != planted
    other = staff_client.anonymous()
    other.cookie_jar.update_cookies({"careline_staff": planted}, URL(staff_client.base))
    async with other.get(staff_client.base + "/staff/queue", allow_redirects=False) as queue:
        assert queue.status == 303


async def test_no_get_route_changes_anything_but_the_audit_log(staff_client: StaffSite) -> None:
    escalation = await add_escalation(
        staff_client.services.db,
        staff_client.services.pipeline.cipher,
        phone="13812340001",
        at=staff_client.services.clock.now() - timedelta(minutes=5),
    )
    ids = {"id": str(escalation.id), "person_id": str(escalation.person_id)}
    admin = await staff_client.signed_in("admin")
    before = (await _state(staff_client))[1:]  # all but the audit rows
    reads = [
        pattern
        for method, pattern in staff_routes(staff_client.server.app)
        if method == "GET" and pattern != "/staff/queue/events"  # a stream: never ends
    ]
    assert len(reads) >= 12
    for pattern in reads:
        response = await admin.get(_PARAMETER.sub(lambda m: ids[m.group(1)], pattern))
        assert response.status == 200, pattern
        await response.read()
    assert (await _state(staff_client))[1:] == before


async def test_a_nul_or_control_character_in_any_text_input_is_never_a_5xx(
    staff_client: StaffSite,
) -> None:
    """PostgreSQL stores and compares no NUL: a note or a filter holding one must get a clear
    answer (cleaned, or a 4xx), never a database error."""
    escalation = await add_escalation(
        staff_client.services.db,
        staff_client.services.pipeline.cipher,
        phone="13812340002",
        at=staff_client.services.clock.now() - timedelta(minutes=5),
    )
    supervisor = await staff_client.signed_in("sup-liang")
    case = f"/staff/cases/{escalation.person_id}"
    failed = []
    for path in (
        "/staff/audit?actor=a%00b",
        "/staff/api/v1/audit?action=x%00",
        "/staff/contacts?q=%E6%88%91%00",
        "/staff/api/v1/contacts?worker=w%00&channel=c%07",
        "/staff/contacts.csv?intent=%00",
        "/staff/api/v1/escalations?status=%00",
    ):
        response = await supervisor.get(path)
        if response.status >= 500:
            failed.append(path)
    for path, form in (
        (case + "/notes", {"note": "她说\x00明天再打来"}),
        (f"/staff/queue/{escalation.id}/acknowledge", {"note": "已联系\x00"}),
        (case + "/callbacks", {"when": "2026-12-04T10:00\x00", "note": "\x00"}),
    ):
        response = await supervisor.post_form(path, form)
        if response.status >= 500:
            failed.append(path)
    response = await supervisor.session.post(
        supervisor.url(f"/staff/api/v1/escalations/{escalation.id}/resolve"),
        headers={"X-CSRF-Token": supervisor.csrf},
        json={"note": "好了\u0000"},
    )
    if response.status >= 500:
        failed.append("api resolve")
    response = await sign_in(
        staff_client.anonymous(), staff_client.base, "sup-\x00liang", "x", "/staff/\x00"
    )
    if response.status >= 500:
        failed.append("sign-in")
    assert failed == []
    async with staff_client.services.db.session() as session:
        notes = (await session.scalars(select(CaseNote.text))).all()
    assert all("\x00" not in note for note in notes)
