"""Check-ins reach a mother on her own channel (WeCom here: it may write to her at any time),
from the outbox, on the real app with wechatpy playing WeCom and a local fake of its API.

A check-in she answers ends its run; three unanswered ones open a P2 "lost contact"
escalation; one her channel refuses becomes a worker's task.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.engine import URL as DatabaseUrl

from bot import escalations
from bot.app import create_app
from bot.clock import FixedClock
from bot.secrets import Secrets
from bot.services import Services
from handlers.texts import check_in_text
from intents import NLU
from storage.models import Direction, Escalation, FollowUp, Message, Priority
from tests.conftest import make_secrets, running_services
from tests.fakes.wechat_api import FAKE_CORPID, FAKE_CORPSECRET, FakeWeChatApi
from tests.test_wechat_wecom import wecom_config
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
    """Started with the WeCom app configured: its API sends check-ins."""
    wecom = wecom_config(fake_api)
    async with running_services(db_url, model_dir, nlu, secrets, clock, wecom=wecom) as running:
        yield running


@pytest.fixture
async def client(services: Services, secrets: Secrets) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(services, secrets), host="127.0.0.1")) as client:
        yield client


async def write(client: TestClient, services: Services, text: str, msg_id: str) -> None:
    """She writes; the message is handled."""
    request = WeComPeer(FAKE_CORPID).request(text_xml(MEMBER, text, to=FAKE_CORPID, msg_id=msg_id))
    response = await client.post(URL, params=request.query, data=request.body.encode())
    assert response.status == 200
    await services.pipeline.drain()


async def later(services: Services, clock: FixedClock, *, hours: float) -> None:
    """Time passes; the outbox does what fell due meanwhile."""
    clock.advance(hours=hours)
    await services.outbox.run_due()


async def follow_ups(services: Services) -> list[FollowUp]:
    async with services.db.session() as session:
        return list((await session.scalars(select(FollowUp).order_by(FollowUp.id))).all())


async def escalations_of(services: Services) -> list[Escalation]:
    async with services.db.session() as session:
        return list((await session.scalars(select(Escalation).order_by(Escalation.id))).all())


def hotline(services: Services) -> str:
    return services.config.policy.programme_hotline


async def test_a_check_in_reaches_her_and_her_answer_ends_the_run(
    client: TestClient, services: Services, fake_api: FakeWeChatApi, clock: FixedClock
) -> None:
    await write(client, services, CRISIS, "1001")
    await later(services, clock, hours=23)
    assert fake_api.sent == [], "not before it falls due"

    await later(services, clock, hours=1.5)
    assert [(m.api, m.touser, m.content) for m in fake_api.sent] == [
        ("wecom", MEMBER, check_in_text(1, programme_hotline=hotline(services)))
    ]
    first, second = await follow_ups(services)
    assert (first.status, first.outcome) == ("done", "已发给她")
    assert (second.round, second.status) == (2, "scheduled")
    async with services.db.session() as session:
        out = await session.scalars(
            select(Message.text).where(Message.direction == Direction.OUT).order_by(Message.id)
        )
        assert list(out)[-1] == fake_api.sent[0].content, "kept in her thread"

    clock.advance(hours=2)
    await write(client, services, "好多了，谢谢你们", "1002")
    await later(services, clock, hours=23)
    assert len(fake_api.sent) == 1
    assert (await follow_ups(services))[1].outcome == "她已回复"


async def test_three_unanswered_check_ins_open_a_p2_lost_contact_escalation(
    client: TestClient, services: Services, fake_api: FakeWeChatApi, clock: FixedClock
) -> None:
    await write(client, services, CRISIS, "2001")
    (crisis,) = await escalations_of(services)
    await escalations.resolve(services.db, crisis.id, by="worker", at=clock.now())  # type: ignore[arg-type]

    for sent in (1, 2, 3):
        await later(services, clock, hours=25)
        assert len(fake_api.sent) == sent
    assert [m.content for m in fake_api.sent] == [
        check_in_text(n, programme_hotline=hotline(services)) for n in (1, 2, 3)
    ]
    assert (await escalations_of(services))[1:] == []

    await later(services, clock, hours=25)
    assert len(fake_api.sent) == 3, "no fourth message: a person looks now"
    lost = (await escalations_of(services))[1]
    assert lost.priority == Priority.P2 and "失联" in lost.reason
    assert (await follow_ups(services))[-1].outcome == "多次未回复，已转社工跟进"

    await later(services, clock, hours=100)
    assert len(await escalations_of(services)) == 2 and len(fake_api.sent) == 3


async def test_lost_contact_while_her_case_is_open_joins_it(
    client: TestClient, services: Services, fake_api: FakeWeChatApi, clock: FixedClock
) -> None:
    await write(client, services, CRISIS, "3001")
    for _ in range(4):
        await later(services, clock, hours=25)
    (crisis,) = await escalations_of(services)
    assert crisis.priority == Priority.P1, "one escalation per mother, not lowered"


async def test_a_check_in_her_channel_refuses_becomes_a_workers_task(
    client: TestClient,
    services: Services,
    fake_api: FakeWeChatApi,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await write(client, services, CRISIS, "4001")
    fake_api.fail_next_send(81013, "user not in the app's visible range")
    await later(services, clock, hours=25)
    assert fake_api.sent == []
    (check_in,) = await follow_ups(services)
    assert check_in.outcome == "已通知社工跟进", "no roster here: the notifier is told"
    assert CRISIS not in caplog.text and MEMBER not in caplog.text


async def test_a_check_in_that_keeps_failing_goes_to_a_worker_after_its_tries(
    client: TestClient, services: Services, fake_api: FakeWeChatApi, clock: FixedClock
) -> None:
    await write(client, services, CRISIS, "5001")
    for _ in range(5):
        fake_api.fail_next_send_http(503)
    await later(services, clock, hours=25)
    for _ in range(4):
        await later(services, clock, hours=0.1)
    assert fake_api.send_requests == 3 and fake_api.sent == []
    assert [f.outcome for f in await follow_ups(services)] == ["已通知社工跟进"]


async def test_a_check_in_cut_off_mid_send_goes_to_a_worker_not_to_her_again(
    client: TestClient, services: Services, fake_api: FakeWeChatApi, clock: FixedClock
) -> None:
    await write(client, services, CRISIS, "6001")
    clock.advance(hours=25)
    fake_api.hang_sends()
    sending = asyncio.ensure_future(services.outbox.run_due())
    await fake_api.send_request_arrived.wait()
    sending.cancel()  # the process stops mid-send: its claims are left to expire
    await asyncio.gather(sending, return_exceptions=True)
    fake_api.release_sends()
    await later(services, clock, hours=0.01)
    assert fake_api.send_requests == 1
    assert [f.outcome for f in await follow_ups(services)] == ["已通知社工跟进"]
