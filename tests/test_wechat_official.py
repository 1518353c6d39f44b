"""/wechat/mp (Official Account) on the real app, with wechatpy playing WeChat.

The service runs on a loopback port with a real SQLite database and the embedded NLU; late
replies go to the local fake of the WeChat API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL as DatabaseUrl

from bot.app import create_app
from bot.channels import texts
from bot.channels.routes import WECHAT_MP
from bot.channels.wechat.inbound import MAX_MSG_ID_CHARS
from bot.clock import FixedClock
from bot.config import parse_config
from bot.late_replies import SEND_TRIES
from bot.message import MAX_TEXT_CHARS
from bot.secrets import Secrets, SecretsError
from bot.services import Services
from intents import NLU
from storage.models import (
    AcceptedRequest,
    Classification,
    Contact,
    Direction,
    Escalation,
    FollowUp,
    LateReply,
    Message,
)
from tests.conftest import make_config, make_secrets, running_services
from tests.fakes.wechat_api import FAKE_APPID, FAKE_SECRET, FakeWeChatApi
from tests.wechat_peer import (
    AES_KEY,
    TOKEN,
    OfficialAccountPeer,
    inbound_xml,
    new_msg_id,
    reply_fields,
    text_xml,
)

URL = "/wechat/mp"
CRISIS = "我真的不想活了，今晚就想结束"
MOTHER = "oMotherOpenId0001"


@pytest.fixture
def secrets() -> Secrets:
    return make_secrets(wechat_token=TOKEN, wechat_aes_key=AES_KEY, wechat_app_secret=FAKE_SECRET)


def configure(services: Services, **sections: dict[str, Any]) -> None:
    """Enable channels on the running services' config, validated like config.yml."""
    services.config = parse_config(services.config.model_dump(mode="json") | sections)


Serve = Callable[..., Any]


@pytest.fixture
async def services(
    db_url: DatabaseUrl, model_dir: Path, nlu: NLU, secrets: Secrets, clock: FixedClock, fake_api
) -> AsyncIterator[Services]:  # type: ignore[no-untyped-def]
    """Started with the Official Account configured: its API sends late replies and check-ins."""
    wechat = {"appid": FAKE_APPID, "api_base_url": fake_api.base_url}
    async with running_services(db_url, model_dir, nlu, secrets, clock, wechat=wechat) as running:
        yield running


async def send_owed(services: Services, clock: FixedClock, *, retries: int = 0) -> None:
    """What the outbox worker does once her message is handled: late replies go out (and are
    tried again ``retries`` times, the clock moved past each wait)."""
    await services.pipeline.drain()
    await services.outbox.run_due()
    for _ in range(retries):
        clock.advance(seconds=301)
        await services.outbox.run_due()


@pytest.fixture
async def serve(
    services: Services, secrets: Secrets, fake_api: FakeWeChatApi
) -> AsyncIterator[Serve]:
    clients: list[TestClient] = []

    async def start(mode: str = "safe", deadline: float = 4.0) -> TestClient:
        configure(
            services,
            wechat={
                "appid": FAKE_APPID,
                "mode": mode,
                "reply_deadline_seconds": deadline,
                "api_base_url": fake_api.base_url,
            },
        )
        client = TestClient(TestServer(create_app(services, secrets), host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
def peer() -> OfficialAccountPeer:
    return OfficialAccountPeer(appid=FAKE_APPID)


async def post(client: TestClient, request: Any) -> tuple[int, str]:
    response = await client.post(URL, params=request.query, data=request.body.encode())
    return response.status, await response.text()


async def count(services: Services, model: type, *where: Any) -> int:
    async with services.db.session() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int(await session.scalar(query))


async def inbound_count(services: Services) -> int:
    return await count(services, Message, Message.direction == Direction.IN)


# -- URL verification --------------------------------------------------------------------------


async def test_url_check_answers_echostr_and_refuses_a_forged_one(
    serve: Serve, peer: OfficialAccountPeer
) -> None:
    client = await serve()
    response = await client.get(URL, params=peer.url_check("4375120948345356249"))
    assert response.status == 200 and await response.text() == "4375120948345356249"
    forged = peer.url_check("1") | {"signature": "0" * 40}
    response = await client.get(URL, params=forged)
    assert response.status == 403 and await response.read() == b""


async def test_channel_not_configured_has_no_route(services: Services, secrets: Secrets) -> None:
    configure(services, wechat=None)
    async with TestClient(TestServer(create_app(services, secrets), host="127.0.0.1")) as client:
        assert (await client.post(URL, data=b"<xml/>")).status == 404


# -- messages ----------------------------------------------------------------------------------


async def test_safe_mode_text_is_stored_and_answered_encrypted(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    status, body = await post(client, peer.safe(text_xml(MOTHER, "我想报名参加育婴师培训")))
    assert status == 200
    reply = peer.open_reply(body)
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == MOTHER
    assert "培训" in reply["Content"]
    async with services.db.session() as session:
        stored = await session.scalar(select(Message).where(Message.direction == Direction.IN))
    assert (stored.channel, stored.content_type, stored.text) == (
        "wechat_mp",
        "text",
        "我想报名参加育婴师培训",
    )
    assert await count(services, Contact) == 1


async def test_plain_mode_text_gets_a_plain_reply(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve(mode="plain")
    status, body = await post(client, peer.plain(text_xml(MOTHER, "你好")))
    assert status == 200
    reply = reply_fields(body)
    assert reply["ToUserName"] == MOTHER and reply["Content"]
    assert await inbound_count(services) == 1
    # An encrypted push to a plain-mode account is refused and stores nothing.
    status, body = await post(client, peer.safe(text_xml(MOTHER, "你好")))
    assert (status, body) == (400, "")
    assert await inbound_count(services) == 1


async def test_safe_mode_refuses_a_plain_push(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    status, body = await post(client, peer.plain(text_xml(MOTHER, "你好")))
    assert (status, body) == (403, "")
    assert await inbound_count(services) == 0


async def test_crisis_reply_is_sent_in_the_one_to_one_chat_and_escalated(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    status, body = await post(client, peer.safe(text_xml(MOTHER, CRISIS)))
    assert status == 200
    assert "值班社工" in peer.open_reply(body)["Content"]
    assert await count(services, Escalation) == 1


async def test_voice_uses_recognition_text(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    voice = inbound_xml(
        MOTHER, "voice", MediaId="media-1", Format="amr", Recognition=CRISIS, MsgId=new_msg_id()
    )
    status, body = await post(client, peer.safe(voice))
    assert status == 200 and "值班社工" in peer.open_reply(body)["Content"]
    async with services.db.session() as session:
        stored = await session.scalar(select(Message).where(Message.direction == Direction.IN))
    assert (stored.content_type, stored.text) == ("voice", CRISIS)
    assert await count(services, Escalation) == 1


@pytest.mark.parametrize(
    ("inner", "expected", "content_type"),
    [
        (
            inbound_xml(MOTHER, "voice", MediaId="m", Format="amr", MsgId="24000000000000901"),
            texts.VOICE_NOT_RECOGNISED,
            "voice",
        ),
        (
            inbound_xml(MOTHER, "image", PicUrl="http://x/y.jpg", MediaId="m", MsgId="1"),
            texts.NOT_TEXT,
            "image",
        ),
        (
            inbound_xml(MOTHER, "location", Location_X="23.1", Label="某地", MsgId="2"),
            texts.NOT_TEXT,
            "location",
        ),
    ],
)
async def test_a_message_without_words_gets_a_kind_answer_and_is_kept_in_her_thread(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    inner: str,
    expected: str,
    content_type: str,
) -> None:
    client = await serve()
    hotline = services.config.policy.programme_hotline
    for _ in range(3):  # WeChat's retries: one row, the same answer
        status, body = await post(client, peer.safe(inner))
        assert status == 200
        assert peer.open_reply(body)["Content"] == texts.with_hotline(expected, hotline)
    async with services.db.session() as session:
        stored = (await session.scalars(select(Message))).all()
    assert [(m.direction, m.content_type, m.text, m.status) for m in stored] == [
        (Direction.IN, content_type, "", "handled")
    ]
    assert await count(services, Classification) == 0 and await count(services, Contact) == 0


async def test_words_after_a_picture_are_classified_without_it(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    picture = inbound_xml(MOTHER, "image", PicUrl="http://x/y.jpg", MediaId="m", MsgId="3")
    assert (await post(client, peer.safe(picture)))[0] == 200
    _, body = await post(client, peer.safe(text_xml(MOTHER, CRISIS)))
    assert "值班社工" in peer.open_reply(body)["Content"]
    assert await count(services, Escalation) == 1
    assert await inbound_count(services) == 2


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        (inbound_xml(MOTHER, "event", Event="subscribe"), texts.WELCOME),
        (text_xml(MOTHER, "\u200b \u3000\ufeff"), texts.TEXT_UNREADABLE),
    ],
)
async def test_an_event_or_a_blank_text_gets_a_direct_answer_and_is_not_stored(
    serve: Serve, peer: OfficialAccountPeer, services: Services, inner: str, expected: str
) -> None:
    client = await serve()
    status, body = await post(client, peer.safe(inner))
    assert status == 200
    content = peer.open_reply(body)["Content"]
    hotline = services.config.policy.programme_hotline
    assert content == texts.with_hotline(expected, hotline)
    assert await inbound_count(services) == 0


async def test_welcome_says_what_the_service_is_the_hotline_and_privacy(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    _, body = await post(client, peer.safe(inbound_xml(MOTHER, "event", Event="subscribe")))
    welcome = peer.open_reply(body)["Content"]
    assert services.config.policy.programme_hotline in welcome
    assert "关爱" in welcome and "社工" in welcome and "不会" in welcome


async def test_unsubscribe_gets_success_and_nothing_stored(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    status, body = await post(client, peer.safe(inbound_xml(MOTHER, "event", Event="unsubscribe")))
    assert (status, body) == (200, "success")
    assert await inbound_count(services) == 0


async def test_a_text_over_the_limit_is_kept_cut_not_refused(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    long_text = CRISIS + "。" + "我一个人带着孩子，" * 1000  # ~9,000 characters
    status, body = await post(client, peer.safe(text_xml(MOTHER, long_text)))
    assert status == 200 and "值班社工" in peer.open_reply(body)["Content"]
    async with services.db.session() as session:
        stored = await session.scalar(select(Message.text).where(Message.direction == "in"))
    assert stored == long_text[:MAX_TEXT_CHARS]
    assert await count(services, Escalation) == 1


@pytest.mark.parametrize("create_time", ["9" * 400, "9" * 5_000, "0", ""])
async def test_a_create_time_that_is_no_time_is_ignored_and_she_is_stored_as_received(
    serve: Serve, peer: OfficialAccountPeer, services: Services, create_time: str
) -> None:
    client = await serve()
    status, body = await post(client, peer.safe(text_xml(MOTHER, CRISIS, CreateTime=create_time)))
    assert status == 200 and peer.open_reply(body)["Content"]
    async with services.db.session() as session:
        stored = await session.scalar(select(Message).where(Message.direction == Direction.IN))
    assert stored.text == CRISIS and stored.sent_at == services.clock.now()


@pytest.mark.parametrize(
    "text",
    [
        "😭😭 我好累💔",
        "我唔想再喺度生活",
        "我真的撐不下去了",
        "e\u0301\u202e反向文字",
        "]]>我<xml>",
    ],
)
async def test_odd_unicode_is_stored_intact(
    serve: Serve, peer: OfficialAccountPeer, services: Services, text: str
) -> None:
    client = await serve()
    status, body = await post(client, peer.safe(text_xml(MOTHER, text.replace("]]>", "]]"))))
    assert status == 200 and peer.open_reply(body)["Content"]
    async with services.db.session() as session:
        stored = await session.scalar(select(Message).where(Message.direction == Direction.IN))
    assert stored.text == text.replace("]]>", "]]")


# -- retries and the deadline ------------------------------------------------------------------


async def test_three_deliveries_make_one_contact_one_escalation_and_the_same_reply(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    inner = text_xml(MOTHER, CRISIS, msg_id="24000000000000777")
    # WeChat's retries carry the same message under a new timestamp/nonce signature.
    replies = [peer.open_reply((await post(client, peer.safe(inner)))[1]) for _ in range(3)]
    assert len({reply["Content"] for reply in replies}) == 1
    assert await inbound_count(services) == 1
    assert await count(services, Contact) == 1
    assert await count(services, Escalation) == 1


# Tencent documents a 64-bit MsgId; a longer one is kept (it was a 503 on PostgreSQL, forever).
@pytest.mark.parametrize("msg_id", [None, "9" * 200, "9" * MAX_MSG_ID_CHARS])
async def test_reply_that_misses_the_deadline_goes_out_once_through_customer_service(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
    msg_id: str | None,
) -> None:
    client = await serve(deadline=0.0)  # nothing is ever ready in no time: always late
    inner = text_xml(MOTHER, CRISIS, msg_id)
    for _ in range(3):
        assert await post(client, peer.safe(inner)) == (200, "success")
    await send_owed(services, clock)
    await send_owed(services, clock)
    assert [(m.api, m.touser) for m in fake_api.sent] == [("custom", MOTHER)]
    assert "值班社工" in fake_api.sent[0].content
    assert await count(services, Escalation) == 1
    assert await late_reply_rows(services) == [("sent", 1)]
    if msg_id is not None:
        assert await count(services, Message, Message.external_id == msg_id) == 1
        assert await count(services, LateReply, LateReply.external_id == msg_id) == 1


async def test_late_reply_outside_the_48_hour_window_is_recorded_not_retried(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await serve(deadline=0.0)
    fake_api.fail_next_send(45015, "response out of time limit")
    assert await post(client, peer.safe(text_xml(MOTHER, CRISIS))) == (200, "success")
    await send_owed(services, clock, retries=2)
    assert fake_api.send_requests == 1 and fake_api.sent == []
    assert await late_reply_rows(services) == [("out_of_window", 1)]
    assert "out_of_window" in caplog.text and CRISIS not in caplog.text


async def late_reply_rows(services: Services) -> list[tuple[str, int]]:
    async with services.db.session() as session:
        rows = await session.execute(select(LateReply.status, LateReply.attempts))
        return [(status, attempts) for status, attempts in rows.all()]


async def test_late_reply_that_fails_on_the_way_is_tried_again_and_sent_once(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
) -> None:
    client = await serve(deadline=0.0)
    fake_api.fail_next_send(-1, "system error")  # WeChat busy
    fake_api.fail_next_send_http(502)  # then a gateway down
    assert await post(client, peer.safe(text_xml(MOTHER, CRISIS))) == (200, "success")
    await send_owed(services, clock, retries=4)
    assert fake_api.send_requests == 3
    assert [(m.api, m.touser) for m in fake_api.sent] == [("custom", MOTHER)]
    assert await late_reply_rows(services) == [("sent", 3)]


async def test_late_reply_that_keeps_failing_stops_after_its_tries(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
) -> None:
    client = await serve(deadline=0.0)
    for _ in range(SEND_TRIES + 1):  # one left unused
        fake_api.fail_next_send_http(503)
    assert await post(client, peer.safe(text_xml(MOTHER, CRISIS))) == (200, "success")
    await send_owed(services, clock, retries=SEND_TRIES + 2)
    assert fake_api.send_requests == SEND_TRIES and fake_api.sent == []
    assert await late_reply_rows(services) == [("failed", SEND_TRIES)]


async def test_late_reply_whose_answer_was_cut_off_is_not_sent_twice(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
) -> None:
    client = await serve(deadline=0.0)
    fake_api.cut_next_answer()  # WeChat delivered it; its answer never arrived
    assert await post(client, peer.safe(text_xml(MOTHER, CRISIS))) == (200, "success")
    await send_owed(services, clock, retries=2)
    assert fake_api.send_requests == 1 and len(fake_api.sent) == 1
    assert await late_reply_rows(services) == [("failed", 1)]


async def test_a_late_reply_cut_off_mid_send_is_not_sent_again(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
) -> None:
    client = await serve(deadline=0.0)
    assert await post(client, peer.safe(text_xml(MOTHER, CRISIS))) == (200, "success")
    await services.pipeline.drain()
    fake_api.hang_sends()
    sending = asyncio.ensure_future(services.outbox.run_due())
    await fake_api.send_request_arrived.wait()
    sending.cancel()  # the process stops mid-send: its claims are left to expire
    await asyncio.gather(sending, return_exceptions=True)
    fake_api.release_sends()
    clock.advance(seconds=31)
    await services.outbox.run_due()
    assert fake_api.send_requests == 1, "it may have reached her: not sent again"
    assert await late_reply_rows(services) == [("failed", 1)]


async def test_late_reply_waits_while_her_message_is_being_handled(
    serve: Serve, peer: OfficialAccountPeer, services: Services, fake_api: FakeWeChatApi
) -> None:
    """The row is looked at before the message is handled: it waits, then goes once."""
    client = await serve(deadline=0.0)
    assert await post(client, peer.safe(text_xml(MOTHER, CRISIS))) == (200, "success")
    await services.outbox.run_due()  # may run before or after handling finished
    await services.pipeline.drain()
    for _ in range(3):
        services.clock.advance(seconds=1)  # type: ignore[attr-defined]
        await services.outbox.run_due()
    assert [(m.api, m.touser) for m in fake_api.sent] == [("custom", MOTHER)]


@contextlib.asynccontextmanager
async def late_reply_claims_failing(services: Services) -> AsyncIterator[None]:
    """Every write of a late-reply claim fails, as on a full or broken disk (a trigger)."""
    if services.db.url.get_backend_name() == "sqlite":
        create = [
            "CREATE TRIGGER claims_fail BEFORE INSERT ON late_reply "
            "BEGIN INSERT INTO no_such_table VALUES (1); END"
        ]
        drop = ["DROP TRIGGER claims_fail"]
    else:
        create = [
            "CREATE FUNCTION claims_fail() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
            "CREATE TRIGGER claims_fail BEFORE INSERT ON late_reply "
            "FOR EACH ROW EXECUTE FUNCTION claims_fail()",
        ]
        drop = ["DROP TRIGGER claims_fail ON late_reply", "DROP FUNCTION claims_fail()"]
    for statements in (create, drop):
        async with services.db.write() as session:
            for statement in statements:
                await session.execute(text(statement))
        if statements is create:
            yield


async def test_a_late_reply_claim_that_cannot_be_stored_leaves_the_retry_a_reply(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
) -> None:
    client = await serve(deadline=0.0)
    inner = text_xml(MOTHER, CRISIS)
    async with late_reply_claims_failing(services):
        assert (await post(client, peer.safe(inner)))[0] == 503
    assert await inbound_count(services) == 1  # her message was stored all the same
    # WeChat's retry is not answered "success" with nothing owed: the reply goes out.
    assert await post(client, peer.safe(inner)) == (200, "success")
    await send_owed(services, clock)
    assert [(m.api, m.touser) for m in fake_api.sent] == [("custom", MOTHER)]
    assert await late_reply_rows(services) == [("sent", 1)]


async def test_late_reply_waiting_to_retry_at_a_stop_is_sent_after_restart(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
    secrets: Secrets,
    nlu: NLU,
) -> None:
    first = await serve(deadline=0.0)
    fake_api.fail_next_send(-1, "system error")
    assert await post(first, peer.safe(text_xml(MOTHER, CRISIS))) == (200, "success")
    await send_owed(services, clock)  # the first try fails; the row waits for its retry
    await first.close()
    assert fake_api.sent == [] and await late_reply_rows(services) == [("pending", 1)]

    restarted = await Services.start(services.config, secrets, clock=clock, nlu=nlu, run_jobs=False)
    try:
        clock.advance(seconds=301)
        await restarted.outbox.run_due()
    finally:
        await restarted.close()
    assert [(m.api, m.touser) for m in fake_api.sent] == [("custom", MOTHER)]
    assert await late_reply_rows(services) == [("sent", 2)]


async def test_reply_owed_when_the_service_stopped_is_sent_once_after_restart(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
) -> None:
    msg_id = "24000000000000888"
    inner = text_xml(MOTHER, CRISIS, msg_id=msg_id)
    first = await serve()
    assert (await post(first, peer.safe(inner)))[0] == 200
    # What a stop right after the deadline leaves: the claim stored, the reply not yet sent.
    never_ready = asyncio.get_running_loop().create_future()
    await first.app[WECHAT_MP].late.claim(msg_id, MOTHER, never_ready)
    never_ready.cancel()
    await first.close()
    assert fake_api.sent == []

    second = await serve()
    await send_owed(services, clock)
    assert [(m.api, m.touser) for m in fake_api.sent] == [("custom", MOTHER)]
    assert "值班社工" in fake_api.sent[0].content
    # A retry arriving after the restart gets "success": the reply already went out.
    assert await post(second, peer.safe(inner)) == (200, "success")
    await second.close()

    await send_owed(services, clock, retries=1)
    assert len(fake_api.sent) == 1, "sent once, not again"
    assert await count(services, Escalation) == 1


async def test_a_check_in_goes_to_her_within_48_hours_of_her_message_and_to_a_worker_after(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
) -> None:
    client = await serve()
    assert (await post(client, peer.safe(text_xml(MOTHER, CRISIS))))[0] == 200
    await services.pipeline.drain()
    clock.advance(hours=25)
    await services.outbox.run_due()
    assert [(m.api, m.touser) for m in fake_api.sent] == [("custom", MOTHER)]
    clock.advance(hours=25)  # 50 h after her message: WeChat would refuse it
    await services.outbox.run_due()
    assert len(fake_api.sent) == 1 and fake_api.send_requests == 1
    async with services.db.session() as session:
        outcomes = await session.scalars(select(FollowUp.outcome).order_by(FollowUp.id))
        assert list(outcomes) == ["已发给她", "已通知社工跟进"]


# -- bad input ---------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    "<xml><ToUserName>a</ToUserName><Encrypt>&lol2;</Encrypt></xml>"
)


def forged(peer: OfficialAccountPeer) -> Any:
    request = peer.safe(text_xml(MOTHER, CRISIS))
    request.query["msg_signature"] = "0" * 40
    return request


def unsigned(peer: OfficialAccountPeer) -> Any:
    request = peer.safe(text_xml(MOTHER, CRISIS))
    del request.query["msg_signature"], request.query["signature"]
    return request


def stale(peer: OfficialAccountPeer) -> Any:
    return peer.safe(text_xml(MOTHER, CRISIS), timestamp=int(time.time()) - 301)


def outer_garbage(peer: OfficialAccountPeer) -> Any:
    request = peer.safe(text_xml(MOTHER, CRISIS))
    request.body = "<xml><Encrypt>unterminated"
    return request


def inner_garbage(peer: OfficialAccountPeer) -> Any:
    return peer.safe("<xml><FromUserName>oops</xml>")


def entity_bomb(peer: OfficialAccountPeer) -> Any:
    request = peer.safe(text_xml(MOTHER, CRISIS))
    request.body = BILLION_LAUGHS
    return request


DEEP = "<a>" * 2_000 + "x" + "</a>" * 2_000  # past Python's recursion limit


def deep_inner(peer: OfficialAccountPeer) -> Any:
    return peer.safe(text_xml(MOTHER, CRISIS).replace("</xml>", DEEP + "</xml>"))


def deep_outer(peer: OfficialAccountPeer) -> Any:
    request = peer.safe(text_xml(MOTHER, CRISIS))
    request.body = request.body.replace("</xml>", DEEP + "</xml>")
    return request


def long_msg_id(peer: OfficialAccountPeer) -> Any:
    return peer.safe(text_xml(MOTHER, CRISIS, "9" * (MAX_MSG_ID_CHARS + 1)))


def oversized(peer: OfficialAccountPeer) -> Any:
    return peer.safe(text_xml(MOTHER, "我" * 70_000))


@pytest.mark.parametrize(
    ("make", "status", "reason"),
    [
        (forged, 403, "bad_signature"),
        (unsigned, 403, "encryption_required"),
        (stale, 403, "replay_stale"),
        (outer_garbage, 400, "malformed_xml"),
        (inner_garbage, 400, "malformed_xml"),
        (entity_bomb, 400, "malformed_xml"),
        (deep_inner, 400, "malformed_xml"),
        (deep_outer, 400, "malformed_xml"),
        (long_msg_id, 400, "long_msgid"),
        (oversized, 413, "too_large"),
    ],
)
async def test_bad_input_is_refused_without_detail_counted_logged_once_and_not_stored(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    caplog: pytest.LogCaptureFixture,
    make: Callable[[OfficialAccountPeer], Any],
    status: int,
    reason: str,
) -> None:
    client = await serve()
    caplog.set_level(logging.WARNING, logger="careline.channels")
    assert await post(client, make(peer)) == (status, "")
    assert await inbound_count(services) == 0
    stats = await (await client.get("/channels/stats")).json()
    assert stats["rejected"] == {"wechat_mp": {reason: 1}}
    warnings = [r for r in caplog.records if r.name == "careline.channels"]
    assert len(warnings) == 1 and reason in warnings[0].getMessage()
    assert CRISIS not in caplog.text and MOTHER not in caplog.text


# -- the replay guard, in the database -------------------------------------------------------


@contextlib.asynccontextmanager
async def another_process(
    services: Services, secrets: Secrets, fake_api: FakeWeChatApi, model_dir: Path, nlu: Any
) -> AsyncIterator[TestClient]:
    """A second Careline on the same database: a replica, or this one after a restart."""
    other = await Services.start(
        make_config(services.db.url, model_dir), secrets, nlu=nlu, run_jobs=False
    )
    configure(other, wechat={"appid": FAKE_APPID, "api_base_url": fake_api.base_url})
    try:
        async with TestClient(TestServer(create_app(other, secrets), host="127.0.0.1")) as client:
            yield client
    finally:
        await other.close()


async def test_an_identical_retry_gets_the_same_answer_and_stores_nothing_twice(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    request = peer.safe(text_xml(MOTHER, CRISIS))
    first, retry = await post(client, request), await post(client, request)
    assert first[0] == retry[0] == 200
    assert peer.open_reply(first[1])["Content"] == peer.open_reply(retry[1])["Content"]
    assert "值班社工" in peer.open_reply(retry[1])["Content"]
    assert await inbound_count(services) == 1
    assert await count(services, Escalation) == 1
    assert await count(services, AcceptedRequest) == 1
    stats = await (await client.get("/channels/stats")).json()
    assert stats["rejected"] == {}


async def test_the_same_timestamp_and_nonce_with_another_body_is_refused(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    signed = {"timestamp": int(time.time()), "nonce": "415670741"}
    assert (await post(client, peer.safe(text_xml(MOTHER, CRISIS), **signed)))[0] == 200
    other = peer.safe(text_xml(MOTHER, "另一条消息"), **signed)
    assert await post(client, other) == (403, "")
    assert await inbound_count(services) == 1
    assert await count(services, AcceptedRequest) == 1
    stats = await (await client.get("/channels/stats")).json()
    assert stats["rejected"] == {"wechat_mp": {"replay_reused_nonce": 1}}


async def test_the_guard_holds_after_a_restart_and_on_another_replica(
    serve: Serve,
    peer: OfficialAccountPeer,
    services: Services,
    secrets: Secrets,
    fake_api: FakeWeChatApi,
    model_dir: Path,
    nlu: Any,
) -> None:
    signed = {"timestamp": int(time.time()), "nonce": "415670742"}
    request = peer.safe(text_xml(MOTHER, CRISIS), **signed)
    first = await serve()
    assert (await post(first, request))[0] == 200
    await first.close()
    replay = peer.safe(text_xml(MOTHER, "换了内容的重放"), **signed)
    async with another_process(services, secrets, fake_api, model_dir, nlu) as restarted:
        assert await post(restarted, replay) == (403, "")
        status, body = await post(restarted, request)  # WeChat's retry, after the restart
        assert status == 200 and "值班社工" in peer.open_reply(body)["Content"]
        # Both processes up: each refuses what the other let in.
        running = await serve()
        fresh = peer.safe(text_xml(MOTHER, "今天好一点了"))
        assert (await post(restarted, fresh))[0] == 200
        assert await post(running, replay) == (403, "")
        assert (await post(running, fresh))[0] == 200  # the very same request: a retry
    assert await inbound_count(services) == 2
    assert await count(services, AcceptedRequest) == 2


async def test_a_forged_request_writes_no_row(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    assert await post(client, forged(peer)) == (403, "")
    plain_forgery = peer.plain(text_xml(MOTHER, CRISIS))
    plain_forgery.query["signature"] = "0" * 40
    assert await post(client, plain_forgery) == (403, "")
    assert await count(services, AcceptedRequest) == 0


async def test_a_request_not_stored_releases_its_entry_and_the_resealed_retry_gets_in(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    client = await serve()
    signed = {"timestamp": int(time.time()), "nonce": "415670743"}
    inner = text_xml(MOTHER, CRISIS)
    # The guard's row can be written, the message cannot: its table is away for a moment.
    async with services.db.write() as session:
        await session.execute(text("ALTER TABLE message RENAME TO message_away"))
    try:
        assert (await post(client, peer.safe(inner, **signed)))[0] == 503
    finally:
        async with services.db.write() as session:
            await session.execute(text("ALTER TABLE message_away RENAME TO message"))
    assert await count(services, AcceptedRequest) == 0, "released"
    # WeChat's retry, sealed afresh (another body) under the same signed timestamp and nonce.
    status, body = await post(client, peer.safe(inner, **signed))
    assert status == 200 and "值班社工" in peer.open_reply(body)["Content"]
    assert await inbound_count(services) == 1


async def test_a_configured_channel_without_its_secrets_does_not_start(
    services: Services, fake_api: FakeWeChatApi
) -> None:
    configure(services, wechat={"appid": FAKE_APPID, "api_base_url": fake_api.base_url})
    with pytest.raises(SecretsError, match="CARELINE_WECHAT_AES_KEY"):
        create_app(services, make_secrets(wechat_token=TOKEN))


async def test_database_down_gives_503_and_the_same_request_gets_in_once_it_is_back(
    serve: Serve, peer: OfficialAccountPeer, services: Services
) -> None:
    if services.db.url.get_backend_name() != "sqlite":
        pytest.skip("takes the SQLite file away")
    client = await serve()
    request = peer.safe(text_xml(MOTHER, CRISIS))
    path = Path(services.db.url.database)
    await services.db.close()  # drop open connections: the next ones meet the missing file
    shutil.move(path, path.with_suffix(".away"))
    path.mkdir()  # a directory where the database file was: every connection fails
    try:
        assert (await post(client, request))[0] == 503
    finally:
        path.rmdir()
        shutil.move(path.with_suffix(".away"), path)
    # Nothing was stored, so the signed timestamp and nonce were released: WeChat's retry of
    # the very same request is not taken for a replay.
    status, body = await post(client, request)
    assert status == 200 and "值班社工" in peer.open_reply(body)["Content"]
    assert await inbound_count(services) == 1
