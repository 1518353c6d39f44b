"""The escalation queue in the real app on a loopback port, on real databases: who sees
what and in which order, taking and resolving from the page and the JSON API, moves that may
not happen, CSRF, and the live stream seeing another process's write."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.web.queue_actions import NOTE_MAX_CHARS
from storage.db import Database
from storage.models import (
    CaseNote,
    Escalation,
    EscalationStatus,
    NoticeAttempt,
    OutboxItem,
    OutboxKind,
)
from tests.escalation_rows import add_escalation
from tests.staff_site import StaffSite, staff_site

ITEM = re.compile(r'id="escalation-(\d+)"')
LIVE = {"live_poll_seconds": 0.05, "heartbeat_seconds": 1}


@pytest.fixture
async def site(db_url, model_dir, nlu, secrets, clock) -> AsyncIterator[StaffSite]:  # type: ignore[no-untyped-def]
    async with staff_site(db_url, model_dir, nlu, secrets, clock, dashboard=LIVE) as running:
        yield running


async def seed(site: StaffSite, phone: str, minutes_ago: int, **kw) -> Escalation:  # type: ignore[no-untyped-def]
    clock = site.services.clock
    assert isinstance(clock, FixedClock)
    at = clock.now() - timedelta(minutes=minutes_ago)
    return await add_escalation(
        site.services.db, site.services.pipeline.cipher, phone=phone, at=at, **kw
    )


async def stored(site: StaffSite, escalation_id: int) -> Escalation:
    async with site.services.db.session() as session:
        return await session.get_one(Escalation, escalation_id)


async def page_ids(client, path: str = "/staff/queue") -> list[int]:  # type: ignore[no-untyped-def]
    response = await client.get(path)
    assert response.status == 200
    return [int(found) for found in ITEM.findall(await response.text())]


async def api_ids(client) -> list[int]:  # type: ignore[no-untyped-def]
    response = await client.get("/staff/api/v1/escalations")
    assert response.status == 200
    return [item["id"] for item in (await response.json())["escalations"]]


async def test_a_supervisor_sees_every_unresolved_escalation_p1_first_then_longest_waiting(
    site: StaffSite,
) -> None:
    p2_oldest = await seed(site, "13800000001", 90, priority="P2")
    p1_newer = await seed(site, "13800000002", 5)
    p1_older = await seed(site, "13800000003", 20)
    taken = await seed(
        site, "13800000004", 60, status=EscalationStatus.ACKNOWLEDGED, taken_by="sw-lin"
    )
    await seed(site, "13800000005", 120, status=EscalationStatus.RESOLVED)
    supervisor = await site.signed_in("sup-liang")

    expected = [taken.id, p1_older.id, p1_newer.id, p2_oldest.id]
    assert await page_ids(supervisor) == expected
    assert await api_ids(supervisor) == expected


async def test_a_social_worker_sees_her_own_and_the_untaken_but_not_a_colleagues(
    site: StaffSite,
) -> None:
    untaken = await seed(site, "13800000001", 10)
    hers = await seed(
        site, "13800000002", 30, status=EscalationStatus.ACKNOWLEDGED, taken_by="sw-chen"
    )
    await seed(site, "13800000003", 20, status=EscalationStatus.ACKNOWLEDGED, taken_by="sw-lin")
    chen = await site.signed_in("sw-chen")

    assert await page_ids(chen) == [hers.id, untaken.id]
    assert await api_ids(chen) == [hers.id, untaken.id]


async def test_the_queue_shows_waiting_time_sla_reasons_channel_and_who_took_it(
    site: StaffSite,
) -> None:
    await seed(
        site,
        "13800000001",
        25,
        channel="hotline",
        risk_reasons=("有具体计划",),
        status=EscalationStatus.ACKNOWLEDGED,
        taken_by="sw-lin",
    )
    supervisor = await site.signed_in("sup-liang")
    page = await (await supervisor.get("/staff/queue")).text()
    assert "25 分钟" in page  # waiting
    assert "已超时 10 分钟" in page  # a 15-minute SLA, 25 minutes ago
    assert "有具体计划" in page and "想要轻生" in page
    assert "关爱热线" in page
    assert "林芳" in page


async def test_taking_from_the_page_makes_it_hers_and_tells_those_paged_before(
    site: StaffSite,
) -> None:
    escalation = await seed(site, "13800000001", 3)
    async with site.services.db.write() as session:
        session.add(
            NoticeAttempt(
                escalation_id=escalation.id,
                recipient="sw-lin",
                sender="webhook",
                status="delivered",
                at=site.services.clock.now(),
            )
        )
    chen = await site.signed_in("sw-chen")

    response = await chen.post_form(
        f"/staff/queue/{escalation.id}/acknowledge", {"note": "已电话联系"}
    )
    assert response.status == 303
    after = await chen.get(response.headers["Location"])
    assert f"你已接手求助 #{escalation.id}" in await after.text()

    taken = await stored(site, escalation.id)  # type: ignore[arg-type]
    assert taken.status == EscalationStatus.ACKNOWLEDGED
    assert taken.taken_by == "sw-chen"
    async with site.services.db.session() as session:
        told = (
            await session.scalars(
                select(OutboxItem.recipient).where(OutboxItem.kind == OutboxKind.STAFF_TAKEN)
            )
        ).all()
        notes = (await session.scalars(select(CaseNote))).all()
    assert told == ["sw-lin"]
    assert [(n.kind, n.text, n.author) for n in notes] == [
        ("acknowledged", "已电话联系", "sw-chen")
    ]


async def test_resolving_with_a_note_closes_it_and_keeps_the_note(site: StaffSite) -> None:
    escalation = await seed(
        site, "13800000001", 30, status=EscalationStatus.ACKNOWLEDGED, taken_by="sw-chen"
    )
    chen = await site.signed_in("sw-chen")

    response = await chen.post_form(f"/staff/queue/{escalation.id}/resolve", {"note": "已转介妇联"})
    assert response.status == 303
    assert (await stored(site, escalation.id)).status == EscalationStatus.RESOLVED  # type: ignore[arg-type]
    assert escalation.id not in await page_ids(chen)
    async with site.services.db.session() as session:
        note = await session.scalar(select(CaseNote))
    assert note is not None and (note.kind, note.text) == ("resolved", "已转介妇联")


async def test_refused_moves_say_why_in_chinese_and_change_nothing(site: StaffSite) -> None:
    lins = await seed(
        site, "13800000001", 30, status=EscalationStatus.ACKNOWLEDGED, taken_by="sw-lin"
    )
    closed = await seed(site, "13800000002", 40, status=EscalationStatus.RESOLVED)
    untaken = await seed(site, "13800000003", 5)
    chen = await site.signed_in("sw-chen")

    cases = [
        (f"/staff/queue/{lins.id}/acknowledge", "已由 林芳 于"),
        (f"/staff/queue/{lins.id}/resolve", "已由 林芳 于"),
        (f"/staff/queue/{closed.id}/acknowledge", "结案，本次操作未作任何更改"),
        (f"/staff/queue/{closed.id}/resolve", "结案，本次操作未作任何更改"),
        (f"/staff/queue/{untaken.id}/resolve", "请先点“我来处理”接手"),
        ("/staff/queue/999999/acknowledge", "找不到求助 #999999"),
    ]
    for path, says in cases:
        response = await chen.post_form(path, {"note": "x"})
        assert response.status in (404, 409), path
        assert says in await response.text(), path

    assert (await stored(site, lins.id)).taken_by == "sw-lin"  # type: ignore[arg-type]
    assert (await stored(site, closed.id)).status == EscalationStatus.RESOLVED  # type: ignore[arg-type]
    assert (await stored(site, untaken.id)).status == EscalationStatus.NOTIFIED  # type: ignore[arg-type]
    async with site.services.db.session() as session:
        assert (await session.scalars(select(CaseNote))).all() == []


async def test_a_note_over_the_limit_is_refused_on_the_page_and_the_api(site: StaffSite) -> None:
    escalation = await seed(site, "13800000001", 3)
    chen = await site.signed_in("sw-chen")
    too_long = "记" * (NOTE_MAX_CHARS + 1)

    page = await chen.post_form(f"/staff/queue/{escalation.id}/acknowledge", {"note": too_long})
    assert page.status == 400
    assert "备注不能超过" in await page.text()
    api = await chen.session.post(
        chen.url(f"/staff/api/v1/escalations/{escalation.id}/acknowledge"),
        json={"note": too_long},
        headers={"X-CSRF-Token": chen.csrf},
    )
    assert api.status == 400
    assert (await stored(site, escalation.id)).status == EscalationStatus.NOTIFIED  # type: ignore[arg-type]


async def test_a_second_take_of_the_same_escalation_loses(site: StaffSite) -> None:
    escalation = await seed(site, "13800000001", 3)
    chen, lin = await site.signed_in("sw-chen"), await site.signed_in("sw-lin")
    first, second = await asyncio.gather(
        chen.post_form(f"/staff/queue/{escalation.id}/acknowledge", {}),
        lin.post_form(f"/staff/queue/{escalation.id}/acknowledge", {}),
    )
    assert sorted([first.status, second.status]) == [303, 409]
    winner = "sw-chen" if first.status == 303 else "sw-lin"
    assert (await stored(site, escalation.id)).taken_by == winner  # type: ignore[arg-type]


@pytest.mark.parametrize("token", [None, "forged-token"])
async def test_a_move_without_the_sessions_csrf_token_is_403_and_changes_nothing(
    site: StaffSite, token: str | None
) -> None:
    escalation = await seed(site, "13800000001", 3)
    chen = await site.signed_in("sw-chen")
    form = {"note": "x"} if token is None else {"note": "x", "csrf": token}
    for action in ("acknowledge", "resolve"):
        page = await chen.post_form(f"/staff/queue/{escalation.id}/{action}", form, csrf=False)
        assert page.status == 403
        headers = {} if token is None else {"X-CSRF-Token": token}
        api = await chen.session.post(
            chen.url(f"/staff/api/v1/escalations/{escalation.id}/{action}"), headers=headers
        )
        assert api.status == 403
    assert (await stored(site, escalation.id)).status == EscalationStatus.NOTIFIED  # type: ignore[arg-type]


async def test_the_json_api_takes_and_resolves_with_the_same_rules(site: StaffSite) -> None:
    escalation = await seed(site, "13800000001", 3)
    chen, lin = await site.signed_in("sw-chen"), await site.signed_in("sw-lin")
    path = f"/staff/api/v1/escalations/{escalation.id}"

    took = await chen.session.post(
        chen.url(f"{path}/acknowledge"), json={"note": "我来"}, headers={"X-CSRF-Token": chen.csrf}
    )
    assert took.status == 200
    body = (await took.json())["escalation"]
    assert (body["status"], body["taken_by"], body["mine"]) == ("acknowledged", "sw-chen", True)

    refused = await lin.session.post(lin.url(f"{path}/resolve"), headers={"X-CSRF-Token": lin.csrf})
    assert refused.status == 409
    assert "陈晓" in (await refused.json())["error"]
    assert escalation.id not in await api_ids(lin)

    closed = await chen.session.post(
        chen.url(f"{path}/resolve"), headers={"X-CSRF-Token": chen.csrf}
    )
    assert closed.status == 200
    assert (await closed.json())["escalation"]["status"] == "resolved"


async def test_the_queue_needs_a_signed_in_staff_member(site: StaffSite) -> None:
    anonymous = site.anonymous()
    page = await anonymous.get(site.base + "/staff/queue", allow_redirects=False)
    assert page.status == 303 and "/staff/sign-in" in page.headers["Location"]
    api = await anonymous.get(site.base + "/staff/api/v1/escalations")
    assert api.status == 401
    stream = await anonymous.get(site.base + "/staff/queue/events", allow_redirects=False)
    assert stream.status == 303


# --- the live stream --------------------------------------------------------------------------


async def next_event(response: aiohttp.ClientResponse) -> tuple[str, str]:
    """The next event or comment on the stream: ("queue", version) or ("comment", text)."""
    event = data = ""
    while True:
        line = (await response.content.readline()).decode()
        if line == "":
            return "end", ""
        line = line.rstrip("\n")
        if line.startswith(":"):
            return "comment", line[1:].strip()
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif line == "" and event:
            return event, data


async def queue_event(response: aiohttp.ClientResponse) -> str:
    while True:
        kind, value = await next_event(response)
        assert kind != "end", "the stream ended"
        if kind == "queue":
            return value


async def test_the_stream_announces_an_escalation_another_process_wrote(
    site: StaffSite, db_url
) -> None:  # type: ignore[no-untyped-def]
    chen = await site.signed_in("sw-chen")
    stream = await chen.get("/staff/queue/events")
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    first = await asyncio.wait_for(queue_event(stream), 5)

    other_process = Database(db_url)  # a replica: it shares the database, nothing else
    try:
        written = await add_escalation(
            other_process,
            site.services.pipeline.cipher,
            phone="13800000001",
            at=site.services.clock.now(),
        )
    finally:
        await other_process.close()
    changed = await asyncio.wait_for(queue_event(stream), 5)
    assert changed != first

    fragment = await chen.get("/staff/queue?fragment=1")
    assert fragment.headers["X-Queue-Version"] == changed
    body = await fragment.text()
    assert f'id="escalation-{written.id}"' in body
    assert "<html" not in body  # the queue alone, for the page to put in place
    stream.close()


async def test_a_quiet_stream_sends_heartbeats(site: StaffSite) -> None:
    chen = await site.signed_in("sw-chen")
    stream = await chen.get("/staff/queue/events")
    await asyncio.wait_for(queue_event(stream), 5)
    assert await asyncio.wait_for(next_event(stream), 5) == ("comment", "heartbeat")
    stream.close()


async def test_stopping_the_server_ends_open_streams(site: StaffSite) -> None:
    chen = await site.signed_in("sw-chen")
    stream = await chen.get("/staff/queue/events")
    await asyncio.wait_for(queue_event(stream), 5)
    await asyncio.wait_for(site.server.close(), 10)
    kind = "queue"
    while kind not in ("end",):
        kind, _ = await asyncio.wait_for(next_event(stream), 5)
    assert kind == "end"
