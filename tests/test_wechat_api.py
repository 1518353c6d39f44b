"""bot.channels.wechat.api against the local fake WeChat API (tests/fakes/wechat_api.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from bot.channels.wechat.api import (
    ERRCODE_OUT_OF_SERVICE_WINDOW,
    OfficialAccountClient,
    WeChatApiError,
    WeComClient,
)
from tests.fakes.wechat_api import (
    FAKE_APPID,
    FAKE_CORPID,
    FAKE_CORPSECRET,
    FAKE_SECRET,
    FakeWeChatApi,
)

T0 = 1_700_000_000.0
OPENID = "oMotherOpenId0001"
CRISIS_TEXT = "我不想活了，今晚就结束"  # must never appear in logs


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeWeChatApi]:
    async with FakeWeChatApi(clock=clock) as api:
        yield api


@pytest.fixture
async def client(fake: FakeWeChatApi, clock: FakeClock) -> AsyncIterator[OfficialAccountClient]:
    async with OfficialAccountClient(
        FAKE_APPID, FAKE_SECRET, base_url=fake.base_url, clock=clock
    ) as oa_client:
        yield oa_client


@pytest.fixture
async def wecom(fake: FakeWeChatApi, clock: FakeClock) -> AsyncIterator[WeComClient]:
    async with WeComClient(
        FAKE_CORPID, FAKE_CORPSECRET, 1000002, base_url=fake.base_url, clock=clock
    ) as wecom_client:
        yield wecom_client


# -- sending ---------------------------------------------------------------------------------


async def test_customer_service_text_is_sent(
    fake: FakeWeChatApi, client: OfficialAccountClient
) -> None:
    await client.send_text(OPENID, "已收到你的消息，社工会尽快联系你。")
    assert [(m.api, m.touser, m.content, m.agentid) for m in fake.sent] == [
        ("custom", OPENID, "已收到你的消息，社工会尽快联系你。", None)
    ]


async def test_content_goes_out_as_raw_utf8_json(
    fake: FakeWeChatApi, client: OfficialAccountClient
) -> None:
    content = '妈妈 😀 繁體 ]]> "quotes" \\ \n end'
    await client.send_text(OPENID, content)
    (message,) = fake.sent
    assert message.content == content
    assert "😀".encode() in message.raw_body and b"\\u" not in message.raw_body


async def test_wecom_app_message_is_sent(fake: FakeWeChatApi, wecom: WeComClient) -> None:
    await wecom.send_text("ChenJiaShun", "值班社工请注意")
    assert [(m.api, m.touser, m.content, m.agentid) for m in fake.sent] == [
        ("wecom", "ChenJiaShun", "值班社工请注意", 1000002)
    ]
    assert fake.token_requests == 1


# -- token cache -----------------------------------------------------------------------------


async def test_token_is_cached_for_its_lifetime(
    fake: FakeWeChatApi, client: OfficialAccountClient, clock: FakeClock
) -> None:
    for _ in range(3):
        await client.send_text(OPENID, "hi")
    clock.now = T0 + 7200 - 301  # just before the early-refresh point
    await client.send_text(OPENID, "hi")
    assert fake.token_requests == 1
    assert len(fake.sent) == 4


async def test_token_is_refreshed_five_minutes_early(
    fake: FakeWeChatApi, client: OfficialAccountClient, clock: FakeClock
) -> None:
    first = await client.access_token()
    clock.now = T0 + 7200 - 299  # the old token is still valid at the fake
    second = await client.access_token()
    assert second != first
    assert fake.token_requests == 2
    await client.send_text(OPENID, "hi")
    assert fake.token_requests == 2


async def test_short_lived_token_refreshes_half_way(clock: FakeClock) -> None:
    async with (
        FakeWeChatApi(clock=clock, token_lifetime=60) as fake,
        OfficialAccountClient(FAKE_APPID, FAKE_SECRET, base_url=fake.base_url, clock=clock) as c,
    ):
        await c.send_text(OPENID, "a")
        clock.now = T0 + 29
        await c.send_text(OPENID, "b")
        assert fake.token_requests == 1
        clock.now = T0 + 30
        await c.send_text(OPENID, "c")
        assert fake.token_requests == 2


async def test_one_refresh_under_twenty_concurrent_sends(
    fake: FakeWeChatApi, client: OfficialAccountClient
) -> None:
    fake.pause_tokens()
    sends = asyncio.gather(*(client.send_text(f"o{i}", f"msg {i}") for i in range(20)))
    await fake.token_request_arrived.wait()  # every sender is now waiting on the one refresh
    fake.release_tokens()
    await sends
    assert fake.token_requests == 1
    assert sorted(m.touser for m in fake.sent) == sorted(f"o{i}" for i in range(20))


async def test_failed_early_refresh_keeps_the_valid_token(
    fake: FakeWeChatApi, client: OfficialAccountClient, clock: FakeClock
) -> None:
    await client.send_text(OPENID, "a")
    clock.now = T0 + 7200 - 100
    fake.fail_next_token(-1, "system error")
    await client.send_text(OPENID, "b")  # refresh failed, old token still good
    assert fake.token_requests == 2
    await client.send_text(OPENID, "c")  # tries again and succeeds
    assert fake.token_requests == 3
    assert len(fake.sent) == 3


async def test_failed_refresh_of_an_expired_token_raises(
    fake: FakeWeChatApi, client: OfficialAccountClient, clock: FakeClock
) -> None:
    await client.send_text(OPENID, "a")
    clock.now = T0 + 7200
    fake.fail_next_token(-1, "system error")
    with pytest.raises(WeChatApiError) as info:
        await client.send_text(OPENID, "b")
    assert info.value.errcode == -1
    assert len(fake.sent) == 1


# -- token rejected by the API ---------------------------------------------------------------


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
async def test_rejected_token_is_refreshed_once_and_the_send_retried(
    fake: FakeWeChatApi, client: OfficialAccountClient, errcode: int
) -> None:
    await client.send_text(OPENID, "first")
    fake.expire_tokens(errcode)
    await client.send_text(OPENID, "second")
    assert fake.token_requests == 2
    assert [m.content for m in fake.sent] == ["first", "second"]


async def test_retry_happens_only_once(fake: FakeWeChatApi, client: OfficialAccountClient) -> None:
    fake.reject_all_tokens = True
    with pytest.raises(WeChatApiError) as info:
        await client.send_text(OPENID, "x")
    assert info.value.errcode == 40001
    assert fake.token_requests == 2
    assert fake.send_requests == 2
    assert fake.sent == []


async def test_concurrent_rejections_share_one_refresh(
    fake: FakeWeChatApi, client: OfficialAccountClient
) -> None:
    await client.send_text(OPENID, "warm up")
    fake.expire_tokens(40001)
    await asyncio.gather(*(client.send_text(f"o{i}", "x") for i in range(20)))
    assert fake.token_requests == 2
    assert len(fake.sent) == 21


async def test_wecom_rejected_token_is_refreshed(fake: FakeWeChatApi, wecom: WeComClient) -> None:
    await wecom.send_text("u1", "a")
    fake.expire_tokens(42001)
    await wecom.send_text("u1", "b")
    assert fake.token_requests == 2
    assert len(fake.sent) == 2


# -- errors ------------------------------------------------------------------------------------


async def test_api_errcode_surfaces_as_wechat_api_error(
    fake: FakeWeChatApi, client: OfficialAccountClient
) -> None:
    fake.fail_next_send(ERRCODE_OUT_OF_SERVICE_WINDOW, "response out of time limit")
    with pytest.raises(WeChatApiError) as info:
        await client.send_text(OPENID, "late reply")
    assert info.value.errcode == ERRCODE_OUT_OF_SERVICE_WINDOW
    assert info.value.errmsg == "response out of time limit"
    assert fake.token_requests == 1  # not a token problem: no refresh


@pytest.mark.parametrize(
    ("appid", "secret", "errcode"),
    [(FAKE_APPID, "wrong-secret", 40125), ("wxwrong", FAKE_SECRET, 40013)],
)
async def test_bad_credentials_raise_without_looping(
    fake: FakeWeChatApi, clock: FakeClock, appid: str, secret: str, errcode: int
) -> None:
    async with OfficialAccountClient(appid, secret, base_url=fake.base_url, clock=clock) as c:
        with pytest.raises(WeChatApiError) as info:
            await c.send_text(OPENID, "x")
    assert info.value.errcode == errcode
    assert fake.token_requests == 1
    assert fake.send_requests == 0


async def test_wecom_bad_secret_answers_40001_and_is_not_retried(
    fake: FakeWeChatApi, clock: FakeClock
) -> None:
    async with WeComClient(FAKE_CORPID, "wrong", 1, base_url=fake.base_url, clock=clock) as c:
        with pytest.raises(WeChatApiError) as info:
            await c.send_text("u1", "x")
    assert info.value.errcode == 40001
    assert fake.token_requests == 1
    assert fake.send_requests == 0


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (502, b"bad gateway", "HTTP 502"),
        (200, b"<html>not json</html>", "not JSON"),
        (200, b"[" * 5_000 + b"]" * 5_000, "not JSON"),  # past Python's recursion limit
        (200, b"[1, 2]", "not a JSON object"),
        (200, b'{"errcode": "0"}', "non-integer errcode"),
    ],
)
async def test_transport_problems_raise_wechat_api_error(
    fake: FakeWeChatApi,
    client: OfficialAccountClient,
    status: int,
    body: bytes,
    message: str,
) -> None:
    fake.fail_next_send_http(status, body)
    with pytest.raises(WeChatApiError, match=message) as info:
        await client.send_text(OPENID, "x")
    assert info.value.errcode is None


async def test_timeout_raises_wechat_api_error(fake: FakeWeChatApi, clock: FakeClock) -> None:
    fake.hang_sends()
    async with OfficialAccountClient(
        FAKE_APPID, FAKE_SECRET, base_url=fake.base_url, clock=clock, timeout=0.05
    ) as c:
        with pytest.raises(WeChatApiError, match="timeout"):
            await c.send_text(OPENID, "x")
    assert fake.send_requests == 1  # not retried: the message might have gone out


async def test_connection_refused_raises_without_leaking_the_secret(clock: FakeClock) -> None:
    async with FakeWeChatApi(clock=clock) as stopped:
        url = stopped.base_url
    async with OfficialAccountClient(FAKE_APPID, FAKE_SECRET, base_url=url, clock=clock) as c:
        with pytest.raises(WeChatApiError) as info:
            await c.send_text(OPENID, "x")
    assert info.value.errcode is None
    assert FAKE_SECRET not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_logs_never_carry_content_secret_or_token(
    fake: FakeWeChatApi, client: OfficialAccountClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.channels.wechat")
    await client.send_text(OPENID, CRISIS_TEXT)
    fake.expire_tokens(42001)
    await client.send_text(OPENID, CRISIS_TEXT)
    fake.fail_next_send(45047, "out of send limit")
    with pytest.raises(WeChatApiError):
        await client.send_text(OPENID, CRISIS_TEXT)
    assert caplog.records  # the retry and the failure are logged ...
    for record in caplog.records:  # ... without anything sensitive
        text = record.getMessage()
        for secret in [CRISIS_TEXT, OPENID, FAKE_SECRET, *fake.issued_tokens]:
            assert secret not in text
    assert any(r.levelno == logging.WARNING and "45047" in r.getMessage() for r in caplog.records)


async def test_shared_session_is_not_closed_by_the_client(
    fake: FakeWeChatApi, clock: FakeClock
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with OfficialAccountClient(
            FAKE_APPID, FAKE_SECRET, base_url=fake.base_url, clock=clock, session=session
        ) as c:
            await c.send_text(OPENID, "x")
        assert not session.closed
    assert len(fake.sent) == 1
