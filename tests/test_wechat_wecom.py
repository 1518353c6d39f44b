"""/wechat/work (WeCom self-built app) on the real app, with wechatpy playing WeCom."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import URL as DatabaseUrl

from bot.app import create_app
from bot.clock import FixedClock
from bot.config import parse_config
from bot.secrets import Secrets
from bot.services import Services
from intents import NLU
from storage.models import Direction, Escalation, Message
from tests.conftest import make_secrets, running_services
from tests.fakes.wechat_api import FAKE_CORPID, FAKE_CORPSECRET, FakeWeChatApi
from tests.wechat_peer import AES_KEY, TOKEN, WeComPeer, text_xml

URL = "/wechat/work"
AGENT_ID = 1000002
MEMBER = "ZhangMama"
CRISIS = "我不想活了"


@pytest.fixture
def secrets() -> Secrets:
    return make_secrets(wecom_token=TOKEN, wecom_aes_key=AES_KEY, wecom_corp_secret=FAKE_CORPSECRET)


@pytest.fixture
async def services(
    db_url: DatabaseUrl, model_dir: Path, nlu: NLU, secrets: Secrets, clock: FixedClock, fake_api
) -> AsyncIterator[Services]:  # type: ignore[no-untyped-def]
    """Started with the WeCom app configured: its API sends late replies and check-ins."""
    wecom = wecom_config(fake_api)
    async with running_services(db_url, model_dir, nlu, secrets, clock, wecom=wecom) as running:
        yield running


def wecom_config(fake_api: FakeWeChatApi, deadline: float = 4.0) -> dict[str, Any]:
    return {
        "corpid": FAKE_CORPID,
        "agentid": AGENT_ID,
        "reply_deadline_seconds": deadline,
        "api_base_url": fake_api.base_url,
    }


@pytest.fixture
def peer() -> WeComPeer:
    return WeComPeer(FAKE_CORPID)


async def start(
    services: Services, secrets: Secrets, fake_api: FakeWeChatApi, deadline: float = 4.0
) -> TestClient:
    wecom = wecom_config(fake_api, deadline)
    services.config = parse_config(services.config.model_dump(mode="json") | {"wecom": wecom})
    client = TestClient(TestServer(create_app(services, secrets), host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def client(
    services: Services, secrets: Secrets, fake_api: FakeWeChatApi
) -> AsyncIterator[TestClient]:
    client = await start(services, secrets, fake_api)
    yield client
    await client.close()


async def post(client: TestClient, request: Any) -> tuple[int, str]:
    response = await client.post(URL, params=request.query, data=request.body.encode())
    return response.status, await response.text()


async def count(services: Services, model: type, *where: Any) -> int:
    async with services.db.session() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int(await session.scalar(query))


async def test_url_check_decrypts_echostr(client: TestClient, peer: WeComPeer) -> None:
    response = await client.get(URL, params=peer.url_check("5927782489442352469"))
    assert response.status == 200 and await response.text() == "5927782489442352469"
    forged = peer.url_check("1") | {"nonce": "other"}
    response = await client.get(URL, params=forged)
    assert response.status == 403 and await response.read() == b""


async def test_text_is_stored_and_the_reply_sealed_for_the_corp(
    client: TestClient, peer: WeComPeer, services: Services
) -> None:
    inner = text_xml(MEMBER, CRISIS, to=FAKE_CORPID, AgentID=str(AGENT_ID))
    status, body = await post(client, peer.request(inner))
    assert status == 200
    reply = peer.open_reply(body)
    assert (reply["ToUserName"], reply["FromUserName"]) == (MEMBER, FAKE_CORPID)
    assert "值班社工" in reply["Content"]
    async with services.db.session() as session:
        stored = await session.scalar(select(Message).where(Message.direction == Direction.IN))
    assert (stored.channel, stored.text) == ("wecom", CRISIS)
    assert await count(services, Escalation) == 1


async def test_message_for_another_corp_is_refused(client: TestClient, services: Services) -> None:
    other = WeComPeer("wwsomeothercorp01")
    assert await post(client, other.request(text_xml(MEMBER, CRISIS))) == (403, "")
    assert await count(services, Message) == 0


async def test_late_reply_goes_out_as_an_app_message(
    services: Services, secrets: Secrets, fake_api: FakeWeChatApi, peer: WeComPeer
) -> None:
    client = await start(services, secrets, fake_api, deadline=0.0)
    try:
        inner = text_xml(MEMBER, CRISIS, to=FAKE_CORPID)
        for _ in range(2):  # the first delivery and WeCom's retry
            assert await post(client, peer.request(inner)) == (200, "")
        await services.pipeline.drain()
        await services.outbox.run_due()
    finally:
        await client.close()
    assert [(m.api, m.touser, m.agentid) for m in fake_api.sent] == [("wecom", MEMBER, AGENT_ID)]
    assert await count(services, Escalation) == 1
