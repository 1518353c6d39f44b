"""The WeCom app sender through the channel's WeComClient, against the local fake WeCom API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.channels.wechat.api import WeComClient
from bot.notifiers.base import DeliveryStatus
from bot.notifiers.wecom_app import WeComAppSender
from tests.fakes.wechat_api import FAKE_CORPID, FAKE_CORPSECRET, FakeWeChatApi
from tests.notice_fixture import ACK_URL, HER_WORDS, crisis_notice
from tests.roster_fixture import roster

LI = roster().worker("li")
ZHAO = roster().worker("zhao")  # no WeCom user id


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChatApi]:
    async with FakeWeChatApi() as api:
        yield api


@pytest.fixture
async def app_sender(fake: FakeWeChatApi) -> AsyncIterator[WeComAppSender]:
    async with WeComClient(
        FAKE_CORPID, FAKE_CORPSECRET, 1000002, base_url=fake.base_url, timeout=2
    ) as client:
        yield WeComAppSender(client)


async def test_app_message_is_markdown_to_the_persons_userid(
    fake: FakeWeChatApi, app_sender: WeComAppSender
) -> None:
    result = await app_sender.send(crisis_notice(), LI)
    assert result.status is DeliveryStatus.DELIVERED
    (sent,) = fake.sent
    assert (sent.touser, sent.msgtype, sent.agentid) == ("LiMei", "markdown", 1000002)
    assert HER_WORDS[0] in sent.content and f"[我来处理]({ACK_URL})" in sent.content


@pytest.mark.parametrize(
    ("errcode", "status"),
    [
        (45009, DeliveryStatus.FAILED_RETRYABLE),
        (-1, DeliveryStatus.FAILED_RETRYABLE),
        (81013, DeliveryStatus.FAILED_PERMANENT),  # user not in the app's visible range
    ],
)
async def test_app_errcodes(
    fake: FakeWeChatApi, app_sender: WeComAppSender, errcode: int, status: DeliveryStatus
) -> None:
    fake.fail_next_send(errcode)
    result = await app_sender.send(crisis_notice(), LI)
    assert (result.status, result.reason) == (status, f"errcode {errcode}")


async def test_app_http_5xx_is_retryable(fake: FakeWeChatApi, app_sender: WeComAppSender) -> None:
    fake.fail_next_send_http(502)
    result = await app_sender.send(crisis_notice(), LI)
    assert (result.status, result.reason) == (DeliveryStatus.FAILED_RETRYABLE, "HTTP 502")


async def test_a_person_without_a_wecom_id_fails_permanently(
    fake: FakeWeChatApi, app_sender: WeComAppSender
) -> None:
    result = await app_sender.send(crisis_notice(), ZHAO)
    assert (result.status, result.reason) == (DeliveryStatus.FAILED_PERMANENT, "no WeCom user id")
    assert fake.send_requests == 0
