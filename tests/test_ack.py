"""The one-tap acknowledgement page, served by the real app on a loopback port, on real
databases: a crisis notice's link shows the case, takes it or hands it back, and a link that
cannot act says so and changes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from bot.app import create_app
from bot.clock import FixedClock
from bot.message import IdentityKind, InboundMessage
from bot.secrets import Secrets
from bot.services import Services
from bot.web import csrf, texts
from bot.web.ack_tokens import make_ack_token
from storage.models import (
    AckLinkUse,
    AuditEvent,
    Escalation,
    EscalationStatus,
    OutboxItem,
    OutboxKind,
    OutboxStatus,
)
from tests.fakes.staff_receiver import StaffReceiver
from tests.test_staff_notices import MONDAY_10, crisis, start

FORM_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Case:
    services: Services
    secrets: Secrets
    client: TestClient
    clock: FixedClock
    receiver: StaffReceiver
    escalation_id: int

    def told(self) -> list[dict]:
        """Every notice the staff webhook got, in order."""
        return [json.loads(r.body) for r in self.receiver.received]

    def link(self, recipient: str) -> str:
        """The path of the latest link a recipient was sent."""
        urls = [n["ack_url"] for n in self.told() if n["recipient"]["id"] == recipient]
        return urlsplit(urls[-1]).path

    async def escalation(self) -> Escalation:
        async with self.services.db.session() as session:
            return await session.get_one(Escalation, self.escalation_id)

    async def audited(self) -> list[tuple[str, str]]:
        async with self.services.db.session() as session:
            events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
        return [(e.actor, e.action) for e in events if e.object_type == "escalation"]

    async def used_links(self) -> int:
        async with self.services.db.session() as session:
            return len((await session.scalars(select(AckLinkUse))).all())


@asynccontextmanager
async def serving(db_url, model_dir, nlu, first: InboundMessage) -> AsyncIterator[Case]:  # type: ignore[no-untyped-def]
    """The real app, after ``first`` was handled at 10:00 on a Monday and its notice sent."""
    clock = FixedClock(MONDAY_10)
    async with StaffReceiver() as receiver:
        services, secrets = await start(
            db_url, model_dir, nlu, clock, webhook=f"{receiver.base_url}/hook"
        )
        try:
            outcome = await services.pipeline.handle(first)
            await services.outbox.run_due()
            server = TestServer(create_app(services, secrets), host="127.0.0.1")
            # Cookies are sent by hand: each test says exactly what the browser would send.
            async with TestClient(server, cookie_jar=aiohttp.DummyCookieJar()) as client:
                yield Case(services, secrets, client, clock, receiver, outcome.escalation["id"])
        finally:
            await services.close()


@pytest.fixture
async def case(db_url, model_dir, nlu) -> AsyncIterator[Case]:  # type: ignore[no-untyped-def]
    """A P1 from a mother at 10:00 on a Monday: li (on duty) has been sent her link."""
    async with serving(db_url, model_dir, nlu, crisis()) as running:
        yield running


async def open_form(case: Case, path: str) -> tuple[str, str]:
    """Open the page as a phone would: the form's CSRF value and the nonce cookie."""
    page = await case.client.get(path)
    assert page.status == 200
    (form_token,) = FORM_TOKEN.findall(await page.text())
    return form_token, page.cookies[csrf.COOKIE].value


async def tap(
    case: Case, path: str, action: str, form: tuple[str, str] | None = None
) -> aiohttp.ClientResponse:
    form_token, nonce = form or await open_form(case, path)
    return await case.client.post(
        path,
        data={"csrf": form_token, "action": action},
        headers={"Cookie": f"{csrf.COOKIE}={nonce}"},
    )


async def test_the_link_shows_the_case_at_a_glance_with_two_buttons(case: Case) -> None:
    path = case.link("li")
    page = await case.client.get(path)
    html = await page.text()
    escalation = await case.escalation()
    assert page.status == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<html lang="zh-CN">' in html
    assert "李梅" in html, "the page greets the recipient by name"
    assert case.told()[0]["pseudonym"] in html
    for shown in ("P1 紧急", texts.RISK_LABELS[escalation.risk_level], "接口", "值班社工"):
        assert shown in html
    assert escalation.reason in html
    assert "10:00" in html and "10:05" in html, "opened at, and its SLA deadline, local time"
    assert 'value="acknowledge">我来处理</button>' in html
    assert 'value="hand_back">转给其他人</button>' in html
    assert crisis().text not in html, "her messages are not on a page a link by SMS opens"
    assert "http://" not in html and "https://" not in html, "no external assets"
    cookie = page.cookies[csrf.COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["secure"]
    assert cookie["path"] == path, "the nonce belongs to this link only"


@pytest.mark.parametrize("forgery", ["no token", "no cookie", "wrong token", "other link"])
async def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    case: Case, forgery: str
) -> None:
    path = case.link("li")
    form_token, nonce = await open_form(case, path)
    data = {"action": "acknowledge", "csrf": form_token}
    headers = {"Cookie": f"{csrf.COOKIE}={nonce}"}
    if forgery == "no token":
        del data["csrf"]
    elif forgery == "no cookie":
        headers = {}
    elif forgery == "wrong token":
        data["csrf"] = "0" * 64
    else:  # a value made for another link with the same nonce
        data["csrf"] = csrf.form_value(case.secrets.ack_secret, nonce, "another.link")
    refused = await case.client.post(path, data=data, headers=headers)
    assert refused.status == 403
    assert texts.FORM_EXPIRED_TITLE in await refused.text()
    assert (await case.escalation()).status == EscalationStatus.NOTIFIED
    assert await case.used_links() == 0
    assert ("li", "ack_link.refused") in await case.audited()
    assert (await case.client.get(path)).status == 200, "the link itself still works"


async def test_acknowledging_stops_the_climb_and_tells_the_others_it_is_taken(
    case: Case,
) -> None:
    case.clock.advance(minutes=5)  # li did not answer: wang (the backup) is told
    await case.services.outbox.run_due()
    assert [n["recipient"]["id"] for n in case.told()] == ["li", "wang"]

    taken = await tap(case, case.link("wang"), "acknowledge")
    assert taken.status == 200
    assert texts.ACKNOWLEDGED_TITLE in await taken.text()
    escalation = await case.escalation()
    assert escalation.status == EscalationStatus.ACKNOWLEDGED
    assert escalation.acknowledged_at == case.clock.now()

    await case.services.outbox.run_due()
    for _ in range(6):  # past every deadline the chain had: nobody is paged again
        case.clock.advance(minutes=10)
        await case.services.outbox.run_due()
    case.clock.advance(days=120)
    await case.services.outbox.run_due()
    told = [(n["recipient"]["id"], n["kind"]) for n in case.told()]
    pages = [t for t in told if t[1] != "follow_up"]
    assert pages == [("li", "new"), ("wang", "climbed"), ("li", "taken")]
    assert ("wang", "follow_up") in told, "her check-in goes to wang, who took the case"
    assert [n for n in case.told() if n["kind"] == "taken"][0]["taken_by"] == "王芳"
    assert ("wang", "escalation.acknowledged") in await case.audited()
    assert ("wang", "ack_link.acknowledged") in await case.audited()


async def test_a_taken_case_shows_who_took_it_and_when_with_no_buttons(case: Case) -> None:
    case.clock.advance(minutes=5)
    await case.services.outbox.run_due()
    await tap(case, case.link("wang"), "acknowledge")
    page = await case.client.get(case.link("li"))
    html = await page.text()
    assert page.status == 200
    assert "王芳 已于 03月09日 10:05 接手此求助" in html
    assert "<form" not in html
    late = await case.client.post(case.link("li"), data={"action": "acknowledge"})
    assert late.status in (403, 409), "a late tap changes nothing"
    assert (await case.escalation()).status == EscalationStatus.ACKNOWLEDGED


async def test_a_second_use_of_the_link_says_it_is_used(case: Case) -> None:
    path = case.link("li")
    form = await open_form(case, path)
    assert (await tap(case, path, "acknowledge", form)).status == 200
    again = await case.client.get(path)
    assert again.status == 410
    assert texts.USED_TITLE in await again.text()
    retap = await tap(case, path, "acknowledge", form)
    assert retap.status == 410
    assert texts.USED_TITLE in await retap.text()
    assert await case.used_links() == 1


async def test_two_taps_at_once_act_once(case: Case) -> None:
    import asyncio

    path = case.link("li")
    form = await open_form(case, path)
    first, second = await asyncio.gather(
        tap(case, path, "acknowledge", form), tap(case, path, "hand_back", form)
    )
    assert sorted([first.status, second.status]) in ([200, 409], [200, 410])
    assert await case.used_links() == 1


async def test_an_expired_link_says_so_and_changes_nothing(case: Case) -> None:
    path = case.link("li")
    form = await open_form(case, path)
    case.clock.advance(days=1, seconds=1)  # ack_link_minutes defaults to a day
    page = await case.client.get(path)
    assert page.status == 410
    assert texts.EXPIRED_TITLE in await page.text()
    refused = await tap(case, path, "acknowledge", form)
    assert refused.status == 410
    assert (await case.escalation()).status != EscalationStatus.ACKNOWLEDGED
    assert await case.used_links() == 0


@pytest.mark.parametrize(
    ("link", "status", "title"),
    [
        ("forged", 403, texts.FORGED_TITLE),
        ("tampered", 403, texts.FORGED_TITLE),
        ("malformed", 400, texts.MALFORMED_TITLE),
    ],
)
async def test_a_forged_or_malformed_link_is_refused(
    case: Case, link: str, status: int, title: str
) -> None:
    token = case.link("li").rsplit("/", 1)[1]
    if link == "forged":  # a link for this very case, signed with some other secret
        token = make_ack_token(
            "not-" + case.secrets.ack_secret,
            escalation_id=case.escalation_id,
            recipient_id="li",
            expires_at=case.clock.now() + timedelta(hours=1),
        )
    elif link == "tampered":
        token = ("A" if token[0] != "A" else "B") + token[1:]
    else:
        token = "not-a-token"
    for response in (
        await case.client.get(f"/ack/{token}"),
        await case.client.post(f"/ack/{token}", data={"action": "acknowledge"}),
    ):
        assert response.status == status
        assert title in await response.text()
    assert (await case.escalation()).status == EscalationStatus.NOTIFIED


async def test_script_in_a_reason_renders_inert(case: Case) -> None:
    async with case.services.db.write() as session:
        await session.execute(
            update(Escalation)
            .where(Escalation.id == case.escalation_id)
            .values(reason='<script>alert("x")</script><img src=x onerror=alert(1)>')
        )
    page = await case.client.get(case.link("li"))
    html = await page.text()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


async def test_handing_back_climbs_at_once_and_the_person_cannot_take_it_afterwards(
    case: Case,
) -> None:
    path = case.link("li")
    handed = await tap(case, path, "hand_back")
    assert handed.status == 200
    assert texts.HANDED_BACK_TITLE in await handed.text()
    await case.services.outbox.run_due()  # no clock advance: the backup is told at once
    assert [(n["recipient"]["id"], n["kind"]) for n in case.told()] == [
        ("li", "new"),
        ("wang", "climbed"),
    ]
    escalation = await case.escalation()
    assert (escalation.level, escalation.status) == (1, EscalationStatus.NOTIFIED)
    assert ("li", "escalation.handed_back") in await case.audited()

    assert (await case.client.get(path)).status == 410, "the link is used"
    # Another link li holds (a retried notice) cannot take it either.
    other = "/ack/" + make_ack_token(
        case.secrets.ack_secret,
        escalation_id=case.escalation_id,
        recipient_id="li",
        expires_at=case.clock.now() + timedelta(hours=1),
    )
    page = await case.client.get(other)
    assert texts.YOU_HANDED_BACK_TITLE in await page.text() and "<form" not in await page.text()
    nonce = csrf.new_nonce()
    form = (csrf.form_value(case.secrets.ack_secret, nonce, other.rsplit("/", 1)[1]), nonce)
    refused = await tap(case, other, "acknowledge", form)
    assert refused.status == 409
    assert (await case.escalation()).status == EscalationStatus.NOTIFIED


async def test_an_unknown_action_changes_nothing(case: Case) -> None:
    refused = await tap(case, case.link("li"), "delete")
    assert refused.status == 400
    assert (await case.escalation()).status == EscalationStatus.NOTIFIED
    assert await case.used_links() == 0


def pages(case: Case) -> list[tuple[str, str]]:
    return [(n["recipient"]["id"], n["kind"]) for n in case.told() if n["kind"] != "follow_up"]


async def test_handing_back_cancels_only_that_persons_unsent_notices_of_the_case(
    db_url, model_dir, nlu
) -> None:  # type: ignore[no-untyped-def]
    asked = InboundMessage(
        channel="api",
        sender_id="m",
        sender_kind=IdentityKind.API,
        text="我想找社工聊聊",
        sent_at=MONDAY_10,
    )
    async with serving(db_url, model_dir, nlu, asked) as case:  # a P2: li has its link
        path = case.link("li")
        case.receiver.answer_next(503)
        await case.services.pipeline.handle(crisis())  # now a P1: li is told again, and fails
        case.receiver.answer_next(503)
        other = await case.services.pipeline.handle(crisis("another mother"))
        await case.services.outbox.run_due()  # li's notices of both cases wait to be retried
        assert pages(case) == [("li", "new"), ("li", "new"), ("li", "new")]

        assert (await tap(case, path, "hand_back")).status == 200
        case.clock.advance(seconds=2)  # past the retries' backoff
        await case.services.outbox.run_due()
        told = [(n["escalation_id"], n["recipient"]["id"]) for n in case.told()[3:]]
        assert sorted(told) == sorted(
            [(case.escalation_id, "wang"), (other.escalation["id"], "li")]
        ), "the chain goes on to wang; li's notice of the other case is still retried"
        async with case.services.db.session() as session:
            cancelled = (
                await session.scalars(
                    select(OutboxItem).where(OutboxItem.status == OutboxStatus.CANCELLED)
                )
            ).all()
        assert [(c.kind, c.recipient, c.escalation_id) for c in cancelled] == [
            (OutboxKind.STAFF_DELIVERY, "li", case.escalation_id)
        ]


async def test_handing_back_from_a_level_the_chain_has_left_climbs_no_further(
    case: Case,
) -> None:
    case.clock.advance(minutes=5)  # li did not answer in time: wang (level 1) is told
    await case.services.outbox.run_due()
    assert (await tap(case, case.link("li"), "hand_back")).status == 200
    await case.services.outbox.run_due()
    assert pages(case) == [("li", "new"), ("wang", "climbed")], "wang keeps her SLA period"
    escalation = await case.escalation()
    assert (escalation.level, escalation.status) == (1, EscalationStatus.NOTIFIED)
    assert ("li", "escalation.handed_back") in await case.audited()

    case.clock.advance(minutes=5)  # wang's period passes: the chain goes on as it would
    await case.services.outbox.run_due()
    assert sorted(pages(case)[2:]) == [("sun", "climbed"), ("zhou", "climbed")]
    assert ("li", "new") not in pages(case)[1:], "the level left behind is not paged again"


async def test_a_supervisor_who_hands_back_is_not_paged_again_at_the_top(case: Case) -> None:
    for _ in range(2):  # li, then wang, did not answer: the supervisors are told
        case.clock.advance(minutes=5)
        await case.services.outbox.run_due()
    assert sorted(pages(case)[2:]) == [("sun", "climbed"), ("zhou", "climbed")]
    case.clock.advance(minutes=1)
    assert (await tap(case, case.link("sun"), "hand_back")).status == 200
    await case.services.outbox.run_due()  # at the top: the supervisors again, at once
    assert pages(case)[4:] == [("zhou", "climbed")]
    escalation = await case.escalation()
    assert (escalation.level, escalation.sla_deadline) == (
        2,
        case.clock.now() + timedelta(minutes=5),
    )
