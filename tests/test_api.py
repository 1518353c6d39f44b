"""The HTTP API and probes, served by the real aiohttp app on a loopback port."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import create_app
from bot.channels.json_body import MAX_DEPTH
from bot.message import MAX_TEXT_CHARS
from bot.secrets import Secrets
from bot.services import Services
from storage.models import Escalation, Message
from tests.conftest import make_config
from tests.refusing_db import refuse_decisions

URL = "/api/v1/messages"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def sent_at(value: str) -> bytes:
    return json.dumps({"sender": "m", "text": "x", "sent_at": value}).encode()


@pytest.fixture
async def client(services: Services, secrets: Secrets) -> AsyncIterator[TestClient]:
    server = TestServer(create_app(services, secrets), host="127.0.0.1")
    async with TestClient(server) as client:
        yield client


@pytest.fixture
def auth(secrets: Secrets) -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets.api_token}"}


async def stored_messages(services: Services) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)))


async def test_health_and_readiness(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    body = await ready.json()
    assert body["checks"] == {"database": True, "model": True, "scheduler": True}


async def test_crisis_message_over_http(client: TestClient, auth: dict[str, str]) -> None:
    response = await client.post(URL, json={"sender": "m1", "text": "我真的不想活了"}, headers=auth)
    assert response.status == 200
    body = await response.json()
    assert body["escalation"]["priority"] == "P1"
    assert body["classification"]["risk"]["crisis"] is True
    assert body["classification"]["intent"]["name"] == "crisis_suicide"
    assert {"text", "intent", "intent_ranking", "entities", "risk"} <= body["classification"].keys()
    assert body["follow_ups"][0]["kind"] == "check_in"
    assert body["reply"]["sensitive"] is True


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}, {"Authorization": ""}],
)
async def test_missing_or_forged_token_is_refused_and_nothing_stored(
    client: TestClient, services: Services, headers: dict[str, str]
) -> None:
    response = await client.post(URL, json={"sender": "m", "text": "你好"}, headers=headers)
    assert response.status == 401
    assert await stored_messages(services) == 0


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"\xff\xfe", "body is not valid JSON"),
        (b"[1, 2]", "body"),
        (json.dumps({"sender": "m"}).encode(), "text: Field required"),
        (json.dumps({"sender": "m", "text": "hi", "admin": True}).encode(), "admin"),
        (json.dumps({"sender": "", "text": "hi"}).encode(), "sender"),
        (
            json.dumps({"sender": "m", "text": "hi", "message_id": "x" * 129}).encode(),
            "message_id: String should have at most 128 characters",
        ),
        (json.dumps({"sender": "m", "text": "\u200b\u0000 \t"}).encode(), "text: text is empty"),
        # PostgreSQL stores no NUL: such an id would be refused there on every retry.
        (json.dumps({"sender": "m\u0000", "text": "hi"}).encode(), "sender: Value error, must not"),
        (
            json.dumps({"sender": "m", "text": "hi", "message_id": "1\u0000"}).encode(),
            "message_id: Value error, must not contain control characters",
        ),
        (b'{"sender": "m", "text": "\\ud800 lone"}', "text: "),
        (
            json.dumps({"sender": "m", "text": "x" * (MAX_TEXT_CHARS + 1)}).encode(),
            f"text: text is longer than {MAX_TEXT_CHARS} characters",
        ),
        (
            json.dumps({"sender": "m", "text": "x", "sent_at": "2026-01-01T00:00"}).encode(),
            "sent_at",
        ),
        # Deeper than Python's recursion limit, in the body and in a field.
        (nested(20_000).encode(), "body is nested too deeply"),
        (f'{{"sender": "m", "text": "x", "sent_at": {nested(1_000)}}}'.encode(), "nested too"),
        (f'{{"sender": "m", "text": "x", "sent_at": {nested(MAX_DEPTH - 1)}}}'.encode(), "sent_at"),
        # Valid ISO dates whose UTC instant is before year 1 or after 9999, or just not real.
        (
            sent_at("0001-01-01T00:00:00+14:00"),
            "sent_at: Value error, send time must be between 2001-09-09 and 2100-01-01",
        ),
        (
            sent_at("9999-12-31T23:59:59-14:00"),
            "sent_at: Value error, send time must be between",
        ),
        (
            sent_at("1970-01-01T00:00:00+00:00"),
            "sent_at: Value error, send time must be between",
        ),
        (f'{{"sender": "m", "text": "x", "sent_at": 1{"0" * 400}}}'.encode(), "sent_at"),
    ],
)
async def test_malformed_requests_get_a_clear_400_and_store_nothing(
    client: TestClient, services: Services, auth: dict[str, str], body: bytes, problem: str
) -> None:
    response = await client.post(
        URL, data=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert problem in (await response.json())["error"]
    assert await stored_messages(services) == 0


async def test_oversized_body_is_413_and_stores_nothing(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    limit = services.config.service.max_body_bytes
    body = json.dumps({"sender": "m", "text": "我" * limit})
    response = await client.post(
        URL, data=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status == 413
    assert await stored_messages(services) == 0


async def test_replayed_message_id_gets_the_same_answer(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    payload = {"sender": "m2", "text": "他又打我了 我好怕", "message_id": "ext-1"}
    first = await (await client.post(URL, json=payload, headers=auth)).json()
    again = await (await client.post(URL, json=payload, headers=auth)).json()
    assert again["duplicate"] is True and first["duplicate"] is False
    assert again["reply"] == first["reply"]
    assert again["escalation"]["id"] == first["escalation"]["id"]
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Escalation)) == 1


async def test_a_send_time_with_an_offset_is_stored_as_that_instant(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    payload = {"sender": "m", "text": "你好", "sent_at": "2026-03-08T09:30:00+08:00"}
    response = await client.post(URL, json=payload, headers=auth)
    assert response.status == 200
    async with services.db.session() as session:
        stored = await session.get(Message, (await response.json())["message_id"])
    assert stored.sent_at == datetime(2026, 3, 8, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "😭😭 我好累💔",
        "我唔想再喺度生活",
        "我真的撐不下去了",
        "e\u0301\u202e反向文字",
        "ｆｕｌｌ　ｗｉｄｔｈ",
    ],
)
async def test_odd_unicode_is_accepted_and_stored_intact(
    client: TestClient, services: Services, auth: dict[str, str], text: str
) -> None:
    response = await client.post(URL, json={"sender": "u", "text": text}, headers=auth)
    assert response.status == 200
    message_id = (await response.json())["message_id"]
    async with services.db.session() as session:
        assert (await session.get(Message, message_id)).text == text


async def test_database_down_gives_503_and_readiness_fails(
    client: TestClient, services: Services, auth: dict[str, str]
) -> None:
    if services.db.url.get_backend_name() != "sqlite":
        pytest.skip("takes the SQLite file away")
    path = Path(services.db.url.database)
    await services.db.close()  # drop open connections: the next ones meet the missing file
    shutil.move(path, path.with_suffix(".away"))
    path.mkdir()  # a directory where the database file was: every connection fails
    try:
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"]["database"] is False
        response = await client.post(URL, json={"sender": "m", "text": "你好"}, headers=auth)
        assert response.status == 503
        assert "unavailable" in (await response.json())["error"]
    finally:
        path.rmdir()
        shutil.move(path.with_suffix(".away"), path)
    # Back up: the same request now goes through (the sender's retry loses nothing).
    response = await client.post(URL, json={"sender": "m", "text": "你好"}, headers=auth)
    assert response.status == 200


class GatedNLU:
    """The real NLU behind a gate: the test decides when classification may finish."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.called = asyncio.Event()
        self.gate = asyncio.Event()

    async def parse(self, text, **kwargs):  # type: ignore[no-untyped-def]
        self.called.set()
        await self.gate.wait()
        return await self.inner.parse(text, **kwargs)

    async def close(self) -> None:
        return None


async def test_a_database_outage_while_classifying_is_a_503_with_nothing_stored(
    sqlite_url, model_dir, nlu, secrets: Secrets, clock, auth: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    gated = GatedNLU(nlu)
    services = await Services.start(
        make_config(sqlite_url, model_dir), secrets, clock=clock, nlu=gated, run_jobs=False
    )
    server = TestServer(create_app(services, secrets), host="127.0.0.1")
    path = Path(services.db.url.database)
    try:
        async with TestClient(server) as client:
            request = asyncio.ensure_future(
                client.post(URL, json={"sender": "m", "text": "我真的不想活了"}, headers=auth)
            )
            await gated.called.wait()  # classified before it is stored: the database goes away
            await services.db.close()
            shutil.move(path, path.with_suffix(".away"))
            path.mkdir()
            gated.gate.set()
            response = await request
            assert response.status == 503, "nothing was stored: send it again"
            path.rmdir()
            shutil.move(path.with_suffix(".away"), path)
            assert await stored_messages(services) == 0
            again = await client.post(
                URL, json={"sender": "m", "text": "我真的不想活了"}, headers=auth
            )
            assert again.status == 200 and (await again.json())["escalation"]["priority"] == "P1"
    finally:
        if path.is_dir():
            path.rmdir()
            shutil.move(path.with_suffix(".away"), path)
        await services.close()


async def test_a_decision_that_cannot_be_written_is_no_503_and_the_message_is_handled_later(
    client: TestClient, services: Services, clock, auth: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    await refuse_decisions(services.db)
    response = await client.post(URL, json={"sender": "m", "text": "我真的不想活了"}, headers=auth)
    assert response.status == 202
    assert await response.json() == {"stored": True, "status": "processing"}
    assert await stored_messages(services) == 1
    await refuse_decisions(services.db, refuse=False)
    clock.advance(seconds=31)  # its lease runs out; the leader's sweep takes it up
    assert await services.pipeline.handle_stale() == 1
    async with services.db.session() as session:
        escalations = (await session.scalars(select(Escalation))).all()
    assert [e.priority for e in escalations] == ["P1"]
