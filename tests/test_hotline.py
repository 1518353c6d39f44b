"""/hotline/transcripts on the real app: calls in progress and final, resends, wrong speaker
labels, speech-to-text noise, signatures, and the notice a crisis mid-call sends."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import URL as DatabaseURL

from bot.app import create_app
from bot.clock import FixedClock
from bot.config import parse_config
from bot.message import IdentityKind, InboundMessage
from bot.secrets import Secrets
from bot.services import Services
from intents import NLU
from storage.models import (
    CallStatus,
    Classification,
    Contact,
    Direction,
    Escalation,
    HotlineCall,
    HotlineSegment,
    Message,
    MessageStatus,
)
from tests.conftest import make_config, make_secrets
from tests.fakes.staff_receiver import StaffReceiver
from tests.roster_fixture import ROSTER_YAML
from tests.statements import statement_log

URL = "/hotline/transcripts"
SECRET = "hotline-call-system-secret-for-tests"
CALLER = "13800138000"
LINE = "关爱热线 1号线"
IVR_WELCOME = "您好，欢迎致电妇联关爱热线，为保证服务质量，本次通话将被录音。"
# An IVR menu naming a crisis: Careline must never act on the machine's own words.
IVR_MENU = "如有自杀或自伤的想法，请按1；遭受家庭暴力，请按2。"
CRISIS = "嗯 那个 我真的 我真的不想活了 想从楼上跳下去"
MONDAY_10 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: li is on duty

_calls = itertools.count(1)


@pytest.fixture
def secrets() -> Secrets:
    return make_secrets(hotline_hmac_secret=SECRET)


@pytest.fixture
async def client(services: Services, secrets: Secrets) -> AsyncIterator[TestClient]:
    hotline = {"ivr_prompts": [IVR_WELCOME, IVR_MENU]}
    services.config = parse_config(services.config.model_dump(mode="json") | {"hotline": hotline})
    async with TestClient(TestServer(create_app(services, secrets), host="127.0.0.1")) as client:
        yield client


def segment(speaker: str, text: str, at: float, *, confidence: float = 0.92) -> dict[str, Any]:
    return {
        "speaker": speaker,
        "start": at,
        "end": at + 4.5,
        "text": text,
        "confidence": confidence,
    }


def call(
    services: Services, *segments: dict[str, Any], status: str = "in_progress", **fields: Any
) -> dict[str, Any]:
    started = services.clock.now() - timedelta(minutes=3)
    body: dict[str, Any] = {
        "call_id": f"call-{next(_calls)}",
        "caller": CALLER,
        "line": LINE,
        "started_at": started.isoformat(),
        "status": status,
        "segments": list(segments),
    }
    if status == "final":
        body["ended_at"] = services.clock.now().isoformat()
    return body | fields


def final(services: Services, transcript: dict[str, Any], *more: dict[str, Any]) -> dict[str, Any]:
    return transcript | {
        "status": "final",
        "ended_at": services.clock.now().isoformat(),
        "segments": [*transcript["segments"], *more],
    }


def signed(body: bytes, timestamp: float, *, secret: str = SECRET) -> dict[str, str]:
    """Signs as the README tells a call system to, independently of bot.channels."""
    ts = str(int(timestamp))
    mac = hmac.new(secret.encode(), f"{ts}\n".encode() + body, hashlib.sha256)
    return {
        "X-Careline-Timestamp": ts,
        "X-Careline-Signature": mac.hexdigest(),
        "Content-Type": "application/json",
    }


async def post(client: TestClient, services: Services, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    response = await client.post(URL, data=body, headers=signed(body, _now(services)))
    assert response.status == 200, await response.text()
    return await response.json()


def _now(services: Services) -> float:
    return services.clock.now().timestamp()


async def count(services: Services, model: type, *where: Any) -> int:
    async with services.db.session() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int(await session.scalar(query))


async def stored_call(services: Services, call_id: str) -> HotlineCall:
    async with services.db.session() as session:
        return await session.scalar(select(HotlineCall).where(HotlineCall.call_id == call_id))


async def nothing_stored(services: Services) -> bool:
    return await count(services, Message) == 0 and await count(services, HotlineCall) == 0


# -- a call in progress, then final -------------------------------------------------------------


async def test_in_progress_then_final_is_one_call_one_contact_and_only_new_segments_handled(
    client: TestClient, services: Services
) -> None:
    early = call(
        services,
        segment("ivr", IVR_WELCOME, 0),
        segment("agent", "您好 这里是关爱热线 请问有什么可以帮您", 8),
        segment("caller", "嗯 那个 我想问问 育婴师培训 怎么报名", 12),
        agent_id="agent-017",
    )
    first = await post(client, services, early)
    assert first["new_segments"] == 1 and first["duplicate"] is False
    assert first["status"] == "in_progress" and first["contact_id"] is not None

    services.clock.advance(minutes=2)
    whole = final(services, early, segment("caller", "还有 那个 孩子上学的补助 能申请吗", 40))
    second = await post(client, services, whole)
    assert second["new_segments"] == 1, "segments already seen are not handled again"
    assert second["contact_id"] == first["contact_id"]
    assert await count(services, Contact) == 1
    assert await count(services, HotlineSegment) == 2
    assert await count(services, Message, Message.direction == Direction.IN) == 3  # + the call
    # The agent answered her on the line: no written reply stands in her thread as sent.
    assert await count(services, Message, Message.direction == Direction.OUT) == 0
    stored = await stored_call(services, early["call_id"])
    assert stored.status == CallStatus.FINAL and stored.agent_id == "agent-017"
    async with services.db.session() as session:
        contact = await session.get_one(Contact, stored.contact_id)
    assert contact.channel == "hotline" and contact.message_count == 2
    assert contact.handled_by == "agent-017", "a person answered"
    assert contact.ended_at - contact.started_at == timedelta(minutes=5), "the call's duration"


async def test_a_calls_new_segments_are_classified_in_order_and_decided_in_one_transaction(
    client: TestClient, services: Services
) -> None:
    building_up = ["我好累 带孩子睡不好", "每天都睡不着", "不想再撑了"]
    transcript = call(
        services,
        segment("ivr", IVR_WELCOME, 0),
        *(segment("caller", text, 10 * (n + 1)) for n, text in enumerate(building_up)),
    )
    with statement_log() as log:
        answer = await post(client, services, transcript)
    assert answer["new_segments"] == 3
    assert log.write_transactions == 1, "her segments, the call and the decisions together"
    # Her case is read once for the call, not once per segment, and the call's rows of each
    # kind are written together (segments, classifications, replies: one INSERT each).
    assert len(log.statements) <= 21, " ".join(log.kinds())
    async with services.db.session() as session:
        reasons = (
            await session.scalars(
                select(Classification.risk_reasons)
                .join(Message, Message.id == Classification.message_id)
                .order_by(Message.id)
            )
        ).all()
    assert len(reasons) == 3
    # Her last words were weighed with the two before them in the same transcript.
    assert any("近期消息" in reason for reason in reasons[2])
    assert not any("近期消息" in reason for reason in reasons[0]), "nothing before them"
    stored = await stored_call(services, transcript["call_id"])
    assert stored.escalation_id == answer["escalation_id"] and stored.contact_id is not None


async def test_a_final_transcript_is_stored_decided_and_ended_in_one_transaction(
    client: TestClient, services: Services
) -> None:
    whole = call(
        services,
        segment("ivr", IVR_WELCOME, 0),
        segment("caller", CRISIS, 6),
        segment("caller", "我现在 一个人在家", 14),
        status="final",
        agent_id="agent-017",
    )
    with statement_log() as log:
        answer = await post(client, services, whole)
    assert log.write_transactions == 1, "her segments, their decisions and the call's end"
    assert answer["new_segments"] == 2 and answer["escalated"] is True
    async with services.db.session() as session:
        end = await session.scalar(select(Message).where(Message.content_type == "call"))
        contact = await session.get_one(Contact, answer["contact_id"])
    assert end.external_id == f"{whole['call_id']}:end" and end.text == ""
    assert end.status == MessageStatus.HANDLED and end.claimed_until is None
    stored = await stored_call(services, whole["call_id"])
    assert stored.status == CallStatus.FINAL and stored.escalation_id == answer["escalation_id"]
    assert contact.handled_by == "agent-017" and contact.ended_at == stored.ended_at


async def test_distress_said_again_and_again_in_one_call_is_one_call_not_repeated_distress(
    client: TestClient, services: Services
) -> None:
    tired = ["最近真的好累 带孩子睡不好", "心情不太好 有点烦", "工作压力大 很焦虑"]
    whole = call(
        services,
        *(segment("caller", text, 10 * n) for n, text in enumerate(tired * 2)),
        status="final",
    )
    answer = await post(client, services, whole)
    assert answer["new_segments"] == len(tired) * 2
    assert answer["escalated"] is False, "one call of distress is not distress again and again"
    assert await count(services, Escalation) == 0


async def test_a_resent_final_transcript_changes_nothing_and_returns_the_first_result(
    client: TestClient, services: Services
) -> None:
    whole = call(
        services,
        segment("caller", "我老公又喝醉了 他打我 还打孩子", 5),
        segment("agent", "你现在安全吗", 10),
        segment("caller", "我躲在厕所里 我好害怕", 14),
        status="final",
    )
    first = await post(client, services, whole)
    assert first["escalated"] is True and first["new_segments"] == 2
    rows = [await count(services, model) for model in (Message, Contact, Escalation, HotlineCall)]
    again = await post(client, services, whole)
    assert again == first | {"duplicate": True, "new_segments": 0}
    assert [await count(services, m) for m in (Message, Contact, Escalation, HotlineCall)] == rows


async def test_an_in_progress_transcript_arriving_after_the_final_does_not_reopen_the_call(
    client: TestClient, services: Services
) -> None:
    early = call(services, segment("caller", "我想问问 法律援助 离婚的事", 4), agent_id="agent-2")
    await post(client, services, final(services, early))
    late = await post(client, services, early)  # the call system's delayed retry
    assert late["duplicate"] is True and late["new_segments"] == 0
    stored = await stored_call(services, early["call_id"])
    assert stored.status == CallStatus.FINAL and stored.ended_at is not None


async def test_a_call_where_nothing_of_hers_was_heard_is_still_in_her_thread(
    client: TestClient, services: Services
) -> None:
    answer = await post(
        client, services, call(services, segment("ivr", IVR_WELCOME, 0), status="final")
    )
    assert answer["new_segments"] == 0 and answer["duplicate"] is False
    assert answer["escalated"] is False and answer["risk_level"] == "none"
    async with services.db.session() as session:
        [kept] = (await session.scalars(select(Message))).all()
    assert (kept.content_type, kept.text, kept.channel) == ("call", "", "hotline")
    assert await count(services, Contact) == 0
    assert (await stored_call(services, kept.conversation_id)).status == CallStatus.FINAL


async def test_a_call_pushed_before_she_has_said_anything_is_answered_and_stores_nothing(
    client: TestClient, services: Services
) -> None:
    """A call system may push a call as it starts: no segment yet, or the IVR's prompt only.
    Nothing of hers to take yet; her words in the next push are taken as usual."""
    empty = call(services)
    greeted = empty | {"segments": [segment("ivr", IVR_WELCOME, 0)]}
    for transcript in (empty, greeted):
        answer = await post(client, services, transcript)
        assert answer["new_segments"] == 0 and answer["duplicate"] is False
        assert answer["person"] is None and answer["escalated"] is False
    assert await nothing_stored(services)
    answer = await post(
        client, services, final(services, greeted, segment("caller", "我不想活了", 12))
    )
    assert answer["new_segments"] == 1 and answer["escalated"] is True


async def test_a_final_transcript_resent_after_a_restart_gets_the_first_result_from_storage(
    client: TestClient,
    services: Services,
    secrets: Secrets,
    db_url: DatabaseURL,
    model_dir: Path,
) -> None:
    whole = call(
        services,
        segment("caller", "我最近 天天失眠 觉得活着没意思", 5),
        segment("caller", "孩子还小 我也不知道怎么办", 20),
        status="final",
        agent_id="agent-5",
    )
    first = await post(client, services, whole)
    assert first["escalated"] is True
    # After a restart nothing is remembered in memory: the answer comes from the database.
    restarted = await Services.start(
        make_config(db_url, model_dir, hotline=services.config.hotline.model_dump()),
        secrets,
        clock=services.clock,
        nlu=services.nlu,
        run_jobs=False,
    )
    try:
        server = TestServer(create_app(restarted, secrets), host="127.0.0.1")
        async with TestClient(server) as after_restart:
            again = await post(after_restart, restarted, whole)
    finally:
        await restarted.close()
    assert again == first | {"duplicate": True, "new_segments": 0}
    assert await count(services, Contact) == 1 and await count(services, Escalation) == 1


async def test_a_call_that_moves_to_a_crisis_is_one_contact_about_the_crisis(
    client: TestClient, services: Services
) -> None:
    transcript = call(
        services,
        segment("caller", "我想问问那个 找工作的培训", 5),
        segment("caller", "其实 其实我最近 真的不想活了", 30),
        status="final",
    )
    answer = await post(client, services, transcript)
    assert answer["escalated"] is True and answer["risk_level"] in ("high", "imminent")
    async with services.db.session() as session:
        contacts = (await session.scalars(select(Contact))).all()
    assert [(c.service_type, c.intent) for c in contacts] == [("陪伴式", "crisis_suicide")]


# -- a crisis while the call is still going on ---------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[StaffReceiver]:
    async with StaffReceiver() as running:
        yield running


async def test_a_crisis_mid_call_escalates_at_once_and_the_notice_says_in_progress_and_line(
    db_url: DatabaseURL, model_dir: Path, nlu: NLU, receiver: StaffReceiver
) -> None:
    clock = FixedClock(MONDAY_10)
    config = make_config(
        db_url,
        model_dir,
        roster=yaml.safe_load(ROSTER_YAML),
        notifications={"routes": {"default": ["webhook"]}, "webhook": {"url": receiver.base_url}},
        hotline={"ivr_prompts": [IVR_WELCOME]},
    )
    secrets = make_secrets(hotline_hmac_secret=SECRET, staff_webhook_secret="hook-" + "s" * 40)
    services = await Services.start(config, secrets, clock=clock, nlu=nlu, run_jobs=False)
    try:
        server = TestServer(create_app(services, secrets), host="127.0.0.1")
        async with TestClient(server) as client:
            answer = await post(
                client,
                services,
                call(services, segment("ivr", IVR_WELCOME, 0), segment("caller", CRISIS, 6)),
            )
        assert answer["escalated"] is True and answer["status"] == "in_progress"
        async with services.db.session() as session:
            escalation = await session.get_one(Escalation, answer["escalation_id"])
        assert escalation.priority == "P1"
        await services.outbox.run_due()  # due now: nothing waits for the call to end
        [notice] = [json.loads(r.body) for r in receiver.received]
        assert notice["recipient"]["id"] == "li"
        assert notice["channel"] == "hotline" and notice["line"] == LINE
        assert "进行中" in notice["in_progress"]
        assert CALLER not in json.dumps(notice, ensure_ascii=False)
    finally:
        await services.close()


# -- wrong speaker labels -----------------------------------------------------------------------


async def test_an_ivr_prompt_inside_a_caller_segment_is_never_escalated(
    client: TestClient, services: Services
) -> None:
    # The call system glued the IVR's menu (with its punctuation lost) onto her first words.
    menu_heard = IVR_MENU.replace("，", " ").replace("；", "").replace("。", "")
    transcript = call(
        services,
        segment("caller", f"{menu_heard} 喂 你好", 2),
        segment("ivr", IVR_MENU, 20),
        segment("caller", "我想问问 健康体检 什么时候有", 30),
        status="final",
    )
    answer = await post(client, services, transcript)
    assert answer["escalated"] is False and answer["risk_level"] == "none"
    assert await count(services, Escalation) == 0
    async with services.db.session() as session:
        texts = (await session.scalars(select(Message.text).where(Message.text != ""))).all()
    assert not any("自杀" in text for text in texts), "the IVR's words are not kept as hers"


async def test_a_whole_call_labelled_agent_still_has_its_crisis_caught(
    client: TestClient, services: Services
) -> None:
    transcript = call(
        services,
        segment("agent", "喂 喂 你好", 3),
        segment("agent", "他天天打我 昨天拿刀 说要杀了我", 9),
        status="final",
    )
    answer = await post(client, services, transcript)
    assert answer["escalated"] is True and answer["new_segments"] == 2
    stored = await stored_call(services, transcript["call_id"])
    async with services.db.session() as session:
        risky = await session.get_one(Message, stored.risk_message_id)
    assert "拿刀" in risky.text, "the segment behind the call's risk is kept for the worker"


async def test_agent_words_are_not_hers_when_she_speaks_under_her_own_label(
    client: TestClient, services: Services
) -> None:
    transcript = call(
        services,
        segment("agent", "有些妈妈会有不想活的念头 你有过吗", 3),
        segment("caller", "没有没有 就是想问问 育儿讲座", 9),
        status="final",
    )
    answer = await post(client, services, transcript)
    assert answer["new_segments"] == 1 and answer["escalated"] is False


# -- who she is, and what the recogniser made of her words --------------------------------------


async def test_the_same_phone_as_a_known_identity_is_the_same_person(
    client: TestClient, services: Services
) -> None:
    known = await services.pipeline.handle(
        InboundMessage(
            channel="api",
            sender_id="+86 138-0013-8000",
            sender_kind=IdentityKind.PHONE,
            text="你好",
            sent_at=services.clock.now(),
        )
    )
    answer = await post(
        client, services, call(services, segment("caller", "嗯 我又打来了", 2), status="final")
    )
    assert answer["person"] == known.person


@pytest.mark.parametrize("withheld", [{"caller": None}, {"caller": ""}])
async def test_a_crisis_from_a_withheld_number_is_escalated_and_each_such_call_is_its_own(
    client: TestClient, services: Services, withheld: dict[str, Any]
) -> None:
    first = await post(
        client, services, call(services, segment("caller", CRISIS, 2), status="final", **withheld)
    )
    other = await post(
        client, services, call(services, segment("caller", "你好", 2), status="final", **withheld)
    )
    assert first["escalated"] is True
    assert first["person"] != other["person"], "a hidden number is no person across calls"


async def test_a_noisy_multi_segment_call_is_classified_and_keeps_low_confidence(
    client: TestClient, services: Services
) -> None:
    transcript = call(
        services,
        segment("ivr", IVR_WELCOME, 0),
        segment("agent", "你好 请讲", 7),
        segment("caller", "喂 喂 嗯 啊 那个", 9, confidence=0.31),
        segment("caller", "就是 就是孩子他爸走了以后 我一个人 一个人带两个孩子", 14),
        segment("agent", "嗯 我在听", 25),
        segment("caller", "啊 我真的撑不下去了 不想活了 嗯", 28, confidence=0.42),
        segment("caller", "", 40, confidence=0.05),  # silence
        status="final",
        agent_id="agent-003",
    )
    answer = await post(client, services, transcript)
    assert answer["new_segments"] == 3
    assert answer["escalated"] is True and answer["risk_level"] in ("high", "imminent")
    async with services.db.session() as session:
        segments = (await session.scalars(select(HotlineSegment))).all()
    assert sorted((s.position, s.speaker, s.confidence) for s in segments) == [
        (2, "caller", 0.31),
        (3, "caller", 0.92),
        (5, "caller", 0.42),
    ], "low-confidence segments are classified all the same, their confidence kept"


async def test_the_answer_and_the_log_carry_neither_her_words_nor_her_number(
    client: TestClient, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    payload = call(services, segment("caller", CRISIS, 3), status="final")
    body = json.dumps(payload, ensure_ascii=False).encode()
    with caplog.at_level(logging.INFO):
        response = await client.post(URL, data=body, headers=signed(body, _now(services)))
    raw = await response.text()
    assert response.status == 200 and json.loads(raw)["escalated"] is True
    for secret_text in (CALLER, "不想活", "跳下去"):
        assert secret_text not in raw and secret_text not in caplog.text


# -- refused requests store nothing -------------------------------------------------------------


async def test_a_forged_signature_is_refused(client: TestClient, services: Services) -> None:
    body = json.dumps(call(services, segment("caller", CRISIS, 3))).encode()
    response = await client.post(URL, data=body, headers=signed(body, _now(services), secret="x"))
    assert response.status == 403 and await nothing_stored(services)


async def test_a_body_changed_after_signing_is_refused(
    client: TestClient, services: Services
) -> None:
    body = json.dumps(call(services, segment("caller", "你好", 3))).encode()
    headers = signed(body, _now(services))
    response = await client.post(URL, data=body.replace(b"\\u4f60", b"\\u6211"), headers=headers)
    assert response.status == 403 and await nothing_stored(services)


@pytest.mark.parametrize("skew", [-301, 301])
async def test_a_timestamp_over_five_minutes_off_is_refused(
    client: TestClient, services: Services, skew: int
) -> None:
    body = json.dumps(call(services, segment("caller", CRISIS, 3))).encode()
    response = await client.post(URL, data=body, headers=signed(body, _now(services) + skew))
    assert response.status == 403 and await nothing_stored(services)


async def test_missing_signature_headers_are_refused(
    client: TestClient, services: Services
) -> None:
    body = json.dumps(call(services, segment("caller", CRISIS, 3))).encode()
    response = await client.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert response.status == 403 and await nothing_stored(services)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[" * 100 + b"]" * 100,
        b'"just a string"',
        json.dumps({"call_id": "c-1"}).encode(),  # missing fields
    ],
)
async def test_a_body_that_is_no_transcript_is_a_400(
    client: TestClient, services: Services, body: bytes
) -> None:
    response = await client.post(URL, data=body, headers=signed(body, _now(services)))
    assert response.status == 400 and await nothing_stored(services)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "done"},
        {"status": "final"},  # a final transcript needs ended_at
        {"caller": "anonymous"},  # a withheld number is null
        {"started_at": "yesterday"},
        {"started_at": "2026-03-08T09:00:00"},  # no time zone: which 09:00?
        {"segments": [segment("customer", CRISIS, 1)]},
        {"segments": [segment("caller", CRISIS, 5) | {"end": 1}]},
        {"segments": [segment("caller", CRISIS, 5, confidence=1.5)]},
        {"segments": [segment("caller", "\ud800", 5)]},  # a lone surrogate: not storable
        # Control characters in an id: PostgreSQL stores no NUL (a 503 on every resend).
        {"call_id": "c-1\u0000"},
        {"line": "关爱热线\u0000"},
        {"agent_id": "agent-\u0007"},
    ],
)
async def test_a_transcript_of_the_wrong_shape_is_a_400_saying_where(
    client: TestClient, services: Services, change: dict[str, Any]
) -> None:
    payload = call(services, segment("caller", CRISIS, 3)) | change
    body = json.dumps(payload).encode()
    response = await client.post(URL, data=body, headers=signed(body, _now(services)))
    assert response.status == 400
    problem = (await response.json())["error"]
    assert problem and CALLER not in problem and "不想活" not in problem
    assert await nothing_stored(services)


async def test_an_oversized_body_is_a_413(client: TestClient, services: Services) -> None:
    limit = services.config.service.max_body_bytes
    words = [segment("caller", "我想问问培训" * 50, i) for i in range(limit // 300 + 1)]
    body = json.dumps(call(services, *words), ensure_ascii=False).encode()
    assert len(body) > limit
    response = await client.post(URL, data=body, headers=signed(body, _now(services)))
    assert response.status == 413 and await nothing_stored(services)


async def test_odd_unicode_in_her_words_is_cleaned_not_refused(
    client: TestClient, services: Services
) -> None:
    answer = await post(
        client,
        services,
        call(services, segment("caller", "\u200b我\ufeff不想活了\x07", 3), status="final"),
    )
    assert answer["escalated"] is True
    async with services.db.session() as session:
        stored = await session.scalar(select(Message.text).where(Message.text != ""))
    assert stored == "我不想活了"
