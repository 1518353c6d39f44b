"""WeCom robot, SMS gateway and staff webhook senders against a local receiver (127.0.0.1)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.channels.signed_webhook import WebhookRejected, check_signature
from bot.notifiers.base import DeliveryStatus
from bot.notifiers.notice import NoticeKind
from bot.notifiers.sms import SmsGatewaySender
from bot.notifiers.webhook import WebhookSender
from bot.notifiers.wecom_robot import WeComRobotSender
from tests.fakes.staff_receiver import StaffReceiver, closed_port_url
from tests.notice_fixture import ACK_URL, HER_WORDS, PSEUDONYM, REASONS, crisis_notice
from tests.roster_fixture import roster

ROBOT_KEY = "robot-key-0000-secret"
SMS_SECRET = "sms-gateway-secret-for-tests"
HOOK_SECRET = "staff-webhook-secret-for-tests"
NOW = 1_773_000_000.0
LI = roster().worker("li")
ZHOU = roster().worker("zhou")  # no phone, no WeCom id


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def receiver() -> AsyncIterator[StaffReceiver]:
    async with StaffReceiver() as r:
        yield r


def robot(session: aiohttp.ClientSession, url: str) -> WeComRobotSender:
    return WeComRobotSender(session, ROBOT_KEY, url=url)


def sms(session: aiohttp.ClientSession, url: str, **kw: object) -> SmsGatewaySender:
    return SmsGatewaySender(session, url, SMS_SECRET, clock=lambda: NOW, **kw)  # type: ignore[arg-type]


def hook(session: aiohttp.ClientSession, url: str, **kw: object) -> WebhookSender:
    return WebhookSender(session, url, HOOK_SECRET, clock=lambda: NOW, **kw)  # type: ignore[arg-type]


# -- WeCom group robot -------------------------------------------------------------------------


async def test_robot_posts_markdown_mentioning_the_person(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    result = await robot(session, receiver.base_url + "/cgi-bin/webhook/send").send(
        crisis_notice(), LI
    )
    assert result.status is DeliveryStatus.DELIVERED
    (request,) = receiver.received
    assert request.query == {"key": ROBOT_KEY}
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert "<@LiMei>" in body["markdown"]["content"]
    assert f"[我来处理]({ACK_URL})" in body["markdown"]["content"]


@pytest.mark.parametrize(
    ("errcode", "status"),
    [
        (45009, DeliveryStatus.FAILED_RETRYABLE),  # rate limit
        (-1, DeliveryStatus.FAILED_RETRYABLE),  # busy
        (93000, DeliveryStatus.FAILED_PERMANENT),  # invalid webhook key
    ],
)
async def test_robot_errcodes_are_retryable_or_permanent(
    session: aiohttp.ClientSession,
    receiver: StaffReceiver,
    errcode: int,
    status: DeliveryStatus,
) -> None:
    receiver.answer_next(200, {"errcode": errcode, "errmsg": "x"})
    result = await robot(session, receiver.base_url + "/send").send(crisis_notice(), LI)
    assert (result.status, result.reason) == (status, f"errcode {errcode}")


async def test_robot_that_is_down_is_retryable_and_the_reason_hides_the_key(
    session: aiohttp.ClientSession,
) -> None:
    result = await robot(session, closed_port_url()).send(crisis_notice(), LI)
    assert result.status is DeliveryStatus.FAILED_RETRYABLE
    assert result.reason.startswith("connection failed")
    assert ROBOT_KEY not in result.reason and "127.0.0.1" not in result.reason


@pytest.mark.parametrize(
    ("http", "status"),
    [
        (500, DeliveryStatus.FAILED_RETRYABLE),
        (429, DeliveryStatus.FAILED_RETRYABLE),
        (404, DeliveryStatus.FAILED_PERMANENT),
    ],
)
async def test_robot_http_errors(
    session: aiohttp.ClientSession, receiver: StaffReceiver, http: int, status: DeliveryStatus
) -> None:
    receiver.answer_next(http)
    result = await robot(session, receiver.base_url + "/send").send(crisis_notice(), LI)
    assert (result.status, result.reason) == (status, f"HTTP {http}")


# -- SMS gateway -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(NoticeKind))
async def test_sms_body_holds_the_phone_and_no_word_of_hers(
    session: aiohttp.ClientSession, receiver: StaffReceiver, kind: NoticeKind
) -> None:
    result = await sms(session, receiver.base_url + "/sms").send(crisis_notice(kind), LI)
    assert result.delivered
    (request,) = receiver.received
    body = request.json()
    assert set(body) == {"to", "text"}
    assert body["to"] == "13800000001"
    raw = request.body.decode("utf-8")
    assert not [w for w in (*HER_WORDS, *REASONS, PSEUDONYM, "自杀") if w in raw]


async def test_sms_is_signed_with_hmac_sha256_and_names_its_key(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    await sms(session, receiver.base_url + "/sms", key_id="careline-1").send(crisis_notice(), LI)
    (request,) = receiver.received
    headers = request.headers
    assert headers["X-Careline-Key-Id"] == "careline-1"
    assert headers["X-Careline-Timestamp"] == str(int(NOW))
    signed = f"{headers['X-Careline-Timestamp']}\n{headers['X-Careline-Nonce']}\n".encode()
    expected = hmac.new(SMS_SECRET.encode(), signed + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Careline-Signature"], expected)


async def test_sms_to_a_person_without_a_phone_fails_permanently_without_a_request(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    result = await sms(session, receiver.base_url + "/sms").send(crisis_notice(), ZHOU)
    assert (result.status, result.reason) == (DeliveryStatus.FAILED_PERMANENT, "no phone number")
    assert receiver.received == []


@pytest.mark.parametrize(
    ("http", "status"),
    [(503, DeliveryStatus.FAILED_RETRYABLE), (400, DeliveryStatus.FAILED_PERMANENT)],
)
async def test_sms_gateway_errors(
    session: aiohttp.ClientSession, receiver: StaffReceiver, http: int, status: DeliveryStatus
) -> None:
    receiver.answer_next(http)
    result = await sms(session, receiver.base_url + "/sms").send(crisis_notice(), LI)
    assert result.status is status


# -- staff webhook -----------------------------------------------------------------------------


async def test_webhook_signature_verifies_with_careline_own_verifier(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    result = await hook(session, receiver.base_url + "/hook").send(crisis_notice(), LI)
    assert result.delivered
    (request,) = receiver.received
    check_signature(HOOK_SECRET, request.headers, request.body)
    tampered = request.body.replace(b"P1", b"P3")
    with pytest.raises(WebhookRejected) as caught:
        check_signature(HOOK_SECRET, request.headers, tampered)
    assert caught.value.reason == "bad_signature"


async def test_webhook_payload_leaves_her_messages_out_by_default(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    await hook(session, receiver.base_url + "/hook").send(crisis_notice(), LI)
    payload = receiver.received[0].json()
    assert payload["escalation_id"] == 42 and payload["priority"] == "P1"
    assert payload["recipient"] == {"id": "li", "name": "李梅"}
    assert payload["ack_url"] == ACK_URL and payload["notice_id"] == "notice-42-1-li"
    assert "recent_messages" not in payload
    assert not [w for w in HER_WORDS if w in json.dumps(payload, ensure_ascii=False)]


async def test_webhook_can_be_told_to_include_her_messages(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    await hook(session, receiver.base_url + "/hook", include_messages=True).send(
        crisis_notice(), LI
    )
    payload = receiver.received[0].json()
    assert [m["text"] for m in payload["recent_messages"]] == list(HER_WORDS)


async def test_webhook_receiver_down_is_retryable(session: aiohttp.ClientSession) -> None:
    result = await hook(session, closed_port_url()).send(crisis_notice(), LI)
    assert result.status is DeliveryStatus.FAILED_RETRYABLE
