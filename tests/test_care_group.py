"""/channels/care-group on the real app: addressing, privacy of crises, staff, signatures."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import URL as DatabaseURL

from bot.app import create_app
from bot.channels import texts
from bot.channels.json_body import MAX_DEPTH
from bot.config import parse_config
from bot.secrets import Secrets
from bot.services import Services
from storage.models import AcceptedRequest, Contact, Direction, Escalation, Message
from tests.conftest import make_config, make_secrets

URL = "/channels/care-group"
SECRET = "group-bridge-secret-for-tests"
GROUP = "care-group-01"
# Group and message ids are documented up to 128 characters each.
SHORTER_GROUP, LONGEST_GROUP = "g" * 64, "群" * 128
BOT = "careline-bot"
STAFF = "worker-li"
CRISIS = "我真的不想活了，想从楼上跳下去"
CRISIS_WORDS = ("值班社工", "120", "110", "12356")

_nonces = itertools.count(10_000_000)


@pytest.fixture
def secrets() -> Secrets:
    return make_secrets(group_hmac_secret=SECRET)


@pytest.fixture
async def client(services: Services, secrets: Secrets) -> AsyncIterator[TestClient]:
    care_group = {
        "bot_member_id": BOT,
        "staff_member_ids": [STAFF],
        "group_ids": [GROUP, SHORTER_GROUP, LONGEST_GROUP],
    }
    services.config = parse_config(
        services.config.model_dump(mode="json") | {"care_group": care_group}
    )
    async with TestClient(TestServer(create_app(services, secrets), host="127.0.0.1")) as client:
        yield client


_message_ids = itertools.count(1)


def message(text: str, sender: str = "mama-wang", **fields: Any) -> dict[str, Any]:
    return {
        "group_id": GROUP,
        "sender_id": sender,
        "sender_name": "王妈妈",
        "text": text,
        "mentions": [],
        "message_id": f"m-{next(_message_ids)}",
        "time": int(time.time()),
        **fields,
    }


def signed(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Signs as the README tells a bridge to, independently of bot.channels.signed_webhook."""
    ts, nonce = str(int(time.time()) if timestamp is None else timestamp), f"n{next(_nonces)}"
    mac = hmac.new(secret.encode(), f"{ts}\n{nonce}\n".encode() + body, hashlib.sha256)
    return {
        "X-Careline-Timestamp": ts,
        "X-Careline-Nonce": nonce,
        "X-Careline-Signature": mac.hexdigest(),
        "Content-Type": "application/json",
    }


async def send(client: TestClient, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    response = await client.post(URL, data=body, headers=signed(body))
    assert response.status == 200
    return await response.json()


async def count(services: Services, model: type, *where: Any) -> int:
    async with services.db.session() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int(await session.scalar(query))


async def inbound(services: Services) -> int:
    return await count(services, Message, Message.direction == Direction.IN)


def assert_nothing_about_the_crisis(group_reply: str | None) -> None:
    assert group_reply in (None, texts.GROUP_PRIVATE_NOTICE)


# -- speaking only when addressed --------------------------------------------------------------


async def test_mentioned_careline_answers_in_the_group(
    client: TestClient, services: Services
) -> None:
    answer = await send(client, message("请问育婴师培训什么时候报名", mentions=[BOT]))
    assert "培训" in answer["group_reply"] and answer["private_reply"] is None
    assert await count(services, Contact) == 1


async def test_at_name_in_the_text_also_addresses_careline(client: TestClient) -> None:
    answer = await send(client, message("@小助手 你好"))
    assert answer["group_reply"] and answer["private_reply"] is None


async def test_chatter_not_addressed_is_stored_but_gets_no_answer_and_no_contact(
    client: TestClient, services: Services
) -> None:
    answer = await send(client, message("今天天气真好，孩子们去公园玩了"))
    assert answer == {"group_reply": None, "private_reply": None, "duplicate": False}
    assert await inbound(services) == 1
    assert await count(services, Contact) == 0


# -- crises are never discussed in the group ---------------------------------------------------


async def test_crisis_in_chatter_is_escalated_and_answered_only_privately(
    client: TestClient, services: Services
) -> None:
    answer = await send(client, message(CRISIS))
    assert answer["group_reply"] is None  # she did not address Careline: silence in the group
    private = answer["private_reply"]
    assert private["to"] == "mama-wang"
    assert any(word in private["text"] for word in CRISIS_WORDS)
    assert await count(services, Escalation) == 1


async def test_crisis_addressed_to_careline_gets_only_a_neutral_line_in_the_group(
    client: TestClient, services: Services
) -> None:
    answer = await send(client, message(f"求助 {CRISIS}", mentions=[BOT]))
    assert answer["group_reply"] == texts.GROUP_PRIVATE_NOTICE
    assert_nothing_about_the_crisis(answer["group_reply"])
    assert any(word in answer["private_reply"]["text"] for word in CRISIS_WORDS)
    assert await count(services, Escalation) == 1


async def test_asking_for_a_social_worker_is_handled_privately(
    client: TestClient, services: Services
) -> None:
    answer = await send(client, message("我想找社工聊聊"))
    assert answer["group_reply"] == texts.GROUP_PRIVATE_NOTICE
    assert answer["private_reply"]["to"] == "mama-wang"
    assert await count(services, Escalation) == 1


async def test_a_retried_delivery_gets_the_same_answer_and_escalates_once(
    client: TestClient, services: Services
) -> None:
    payload = message(CRISIS)
    first = await send(client, payload)
    again = await send(client, payload)  # the bridge retries under a new signature
    assert again["duplicate"] is True and first["duplicate"] is False
    assert again["private_reply"] == first["private_reply"]
    assert await inbound(services) == 1
    assert await count(services, Escalation) == 1


async def test_a_request_for_a_social_worker_stays_private_when_answered_after_a_restart(
    client: TestClient, services: Services, secrets: Secrets, db_url: DatabaseURL, model_dir: Path
) -> None:
    await send(client, message(CRISIS))  # her escalation is open
    payload = message("我想找社工聊聊")  # joins it: the escalation is the earlier message's
    first = await send(client, payload)
    assert first["group_reply"] == texts.GROUP_PRIVATE_NOTICE
    # After a restart nothing is remembered: the bridge's retry is answered from the database.
    restarted = await Services.start(
        make_config(db_url, model_dir, care_group=services.config.care_group.model_dump()),
        secrets,
        nlu=services.nlu,
        run_jobs=False,
    )
    try:
        server = TestServer(create_app(restarted, secrets), host="127.0.0.1")
        async with TestClient(server) as after_restart:
            again = await send(after_restart, payload)
    finally:
        await restarted.close()
    assert again["duplicate"] is True
    assert again["group_reply"] == texts.GROUP_PRIVATE_NOTICE
    assert again["private_reply"] == first["private_reply"]


async def test_a_long_text_is_stored_whole_and_its_late_crisis_escalated(
    client: TestClient, services: Services
) -> None:
    long_text = "今天又和孩子吵架了，" * 500 + CRISIS  # 5,000+ characters, the crisis at the end
    answer = await send(client, message(long_text))
    private = answer["private_reply"]["text"]
    assert any(word in private for word in CRISIS_WORDS)
    assert await count(services, Escalation) == 1
    async with services.db.session() as session:
        stored = await session.scalar(select(Message.text).where(Message.direction == "in"))
    assert stored == long_text


@pytest.mark.parametrize(
    "odd",
    [
        {"time": 1767225600.25},  # time.time()
        {"time": 1767225600123},  # Date.now()
        {"time": True},
        {"time": "yesterday"},
        {"time": float("nan")},
        {"time": float("inf")},
        {"time": 10**400},  # no float to convert it to
        {"time": -(10**400)},
        {"time": 1e300},
        {"time": "0001-01-01T00:00:00+14:00"},
        {"bridge_extra": {"a": [[{"b": "c"}]]}},
        {"sender_name": "王" * 500},
        {"sender_name": None},
        {"mentions": [BOT] + [f"m{i}" for i in range(300)]},
        {"mentions": "careline-bot"},
        {"mentions": [BOT, 7, None]},
    ],
)
async def test_odd_optional_fields_never_cost_her_message(
    client: TestClient, services: Services, odd: dict[str, Any]
) -> None:
    answer = await send(client, message(CRISIS, **odd))
    assert answer["private_reply"] is not None
    assert await inbound(services) == 1 and await count(services, Escalation) == 1


async def test_a_send_time_of_thousands_of_digits_is_ignored_and_she_is_stored_as_received(
    client: TestClient, services: Services
) -> None:
    # Past 4,300 digits Python's json refuses to read an integer at all.
    for digits in (400, 5_000):
        payload = body_of(message(CRISIS, sender=f"mama-{digits}", time=0))
        body = payload.replace(b'"time": 0', b'"time": ' + b"9" * digits)
        response = await client.post(URL, data=body, headers=signed(body))
        assert response.status == 200
        assert (await response.json())["private_reply"] is not None
    async with services.db.session() as session:
        query = select(Message.sent_at).where(Message.direction == Direction.IN)
        sent = (await session.scalars(query)).all()
    assert sent == [services.clock.now()] * 2


@pytest.mark.parametrize(
    ("group_id", "message_id"), [(SHORTER_GROUP, "m" * 64), (LONGEST_GROUP, "消" * 128)]
)
async def test_the_longest_documented_ids_are_stored_and_de_duplicate(
    client: TestClient, services: Services, group_id: str, message_id: str
) -> None:
    payload = message(CRISIS, group_id=group_id, message_id=message_id)
    first, again = await send(client, payload), await send(client, payload)
    assert first["private_reply"] is not None and again["duplicate"] is True
    key = f"{group_id}:{message_id}"
    assert await count(services, Message, Message.external_id == key) == 1
    assert await count(services, Escalation) == 1


# -- staff -------------------------------------------------------------------------------------


async def test_staff_messages_are_acknowledged_not_stored_as_mothers(
    client: TestClient, services: Services
) -> None:
    answer = await send(client, message("大家好，明天下午三点有育儿讲座", sender=STAFF))
    assert answer == {"group_reply": None, "private_reply": None, "staff": True}
    assert await inbound(services) == 0


# -- bad input ---------------------------------------------------------------------------------


def body_of(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def good() -> tuple[bytes, dict[str, str]]:
    body = body_of(message(CRISIS))
    return body, signed(body)


def missing_signature() -> tuple[bytes, dict[str, str]]:
    body, headers = good()
    del headers["X-Careline-Signature"]
    return body, headers


def wrong_secret() -> tuple[bytes, dict[str, str]]:
    body = body_of(message(CRISIS))
    return body, signed(body, secret="not-the-secret")


def tampered() -> tuple[bytes, dict[str, str]]:
    body, headers = good()
    return body.replace(b"mama-wang", b"mama-zhao"), headers


def stale() -> tuple[bytes, dict[str, str]]:
    body = body_of(message(CRISIS))
    return body, signed(body, timestamp=int(time.time()) - 301)


def not_json() -> tuple[bytes, dict[str, str]]:
    body = b'{"group_id": "care-group-01", "text": '
    return body, signed(body)


def missing_field() -> tuple[bytes, dict[str, str]]:
    payload = message(CRISIS)
    del payload["sender_id"]
    return body_of(payload), signed(body_of(payload))


def lone_surrogate() -> tuple[bytes, dict[str, str]]:
    body = body_of(message("x")).replace(b'"text": "x"', b'"text": "\\ud800"')
    return body, signed(body)


def nested_too_deep(depth: int) -> tuple[bytes, dict[str, str]]:
    body = body_of(message(CRISIS, bridge_extra=0))
    body = body.replace(b'"bridge_extra": 0', b'"bridge_extra": ' + b"[" * depth + b"]" * depth)
    return body, signed(body)


def nested_past_the_recursion_limit() -> tuple[bytes, dict[str, str]]:
    return nested_too_deep(1_000)


def nested_just_too_deep() -> tuple[bytes, dict[str, str]]:
    return nested_too_deep(MAX_DEPTH)  # in the body's object: one level more than allowed


def long_message_id() -> tuple[bytes, dict[str, str]]:
    body = body_of(message(CRISIS, message_id="m" * 129))
    return body, signed(body)


def control_character_in_an_id() -> tuple[bytes, dict[str, str]]:
    # PostgreSQL stores no NUL: such an id would be refused there on every retry.
    body = body_of(message(CRISIS, message_id="m\u0000"))
    return body, signed(body)


def unknown_group() -> tuple[bytes, dict[str, str]]:
    body = body_of(message(CRISIS, group_id="some-other-group"))
    return body, signed(body)


def oversized() -> tuple[bytes, dict[str, str]]:
    body = body_of(message("我" * 70_000))
    return body, signed(body)


@pytest.mark.parametrize(
    ("make", "status", "reason"),
    [
        (missing_signature, 403, "missing_signature"),
        (wrong_secret, 403, "bad_signature"),
        (tampered, 403, "bad_signature"),
        (stale, 403, "replay_stale"),
        (not_json, 400, "malformed_json"),
        (missing_field, 400, "malformed_json"),
        (lone_surrogate, 400, "malformed_json"),
        (long_message_id, 400, "malformed_json"),
        (control_character_in_an_id, 400, "malformed_json"),
        (nested_past_the_recursion_limit, 400, "too_deep"),
        (nested_just_too_deep, 400, "too_deep"),
        (unknown_group, 403, "unknown_group"),
        (oversized, 413, "too_large"),
    ],
)
async def test_bad_input_is_refused_counted_logged_once_and_not_stored(
    client: TestClient,
    services: Services,
    caplog: pytest.LogCaptureFixture,
    make: Any,
    status: int,
    reason: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="careline.channels")
    body, headers = make()
    response = await client.post(URL, data=body, headers=headers)
    assert response.status == status and await response.read() == b""
    assert await inbound(services) == 0
    stats = await (await client.get("/channels/stats")).json()
    assert stats["rejected"] == {"care_group": {reason: 1}}
    warnings = [r for r in caplog.records if r.name == "careline.channels"]
    assert len(warnings) == 1 and CRISIS not in caplog.text


async def test_the_very_same_request_again_is_a_retry_with_the_same_answer(
    client: TestClient, services: Services
) -> None:
    body, headers = good()
    first = await client.post(URL, data=body, headers=headers)
    retry = await client.post(URL, data=body, headers=headers)
    assert first.status == retry.status == 200
    first_answer, retried_answer = await first.json(), await retry.json()
    assert retried_answer["duplicate"] is True
    assert retried_answer["private_reply"] == first_answer["private_reply"]
    assert await inbound(services) == 1
    assert await count(services, AcceptedRequest) == 1


async def test_a_nonce_reused_for_another_body_is_refused(
    client: TestClient, services: Services
) -> None:
    body, headers = good()
    assert (await client.post(URL, data=body, headers=headers)).status == 200
    other = body_of(message("另一条"))
    mac = hmac.new(
        SECRET.encode(),
        f"{headers['X-Careline-Timestamp']}\n{headers['X-Careline-Nonce']}\n".encode() + other,
        hashlib.sha256,
    )
    response = await client.post(
        URL, data=other, headers=headers | {"X-Careline-Signature": mac.hexdigest()}
    )
    assert response.status == 403 and await response.read() == b""
    assert await inbound(services) == 1
    stats = await (await client.get("/channels/stats")).json()
    assert stats["rejected"] == {"care_group": {"replay_reused_nonce": 1}}
