"""bot.api_tokens: one stored access_token per API app, shared by clients and restarts, on every
database, against the local fake WeChat API (tests/fakes/wechat_api.py)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import select

from bot.api_tokens import StoredApiTokens
from bot.channels.wechat.api import OfficialAccountClient, StoredToken, WeChatApiError, WeComClient
from storage.db import Database
from storage.fieldcrypt import FieldCipher
from storage.models import ApiToken
from tests.fakes.wechat_api import (
    FAKE_APPID,
    FAKE_CORPID,
    FAKE_CORPSECRET,
    FAKE_SECRET,
    FakeWeChatApi,
)

T0 = 1_700_000_000.0
OPENID = "oMotherOpenId0001"
OA_KEY = f"wechat_mp:{FAKE_APPID}"


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
def cipher() -> FieldCipher:
    return FieldCipher(os.urandom(32))


Client = Callable[[StoredApiTokens], OfficialAccountClient]


@pytest.fixture
async def oa_client(fake: FakeWeChatApi, clock: FakeClock) -> AsyncIterator[Client]:
    """Official Account clients on the fake, each as a process of its own would build it."""
    clients: list[OfficialAccountClient] = []

    def build(tokens: StoredApiTokens) -> OfficialAccountClient:
        client = OfficialAccountClient(
            FAKE_APPID, FAKE_SECRET, base_url=fake.base_url, tokens=tokens, clock=clock
        )
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.close()


async def test_two_clients_sharing_a_database_fetch_the_token_once(
    database: Database, cipher: FieldCipher, fake: FakeWeChatApi, oa_client: Client
) -> None:
    tokens = StoredApiTokens(db=database, cipher=cipher)
    first, second = oa_client(tokens), oa_client(tokens)
    await first.send_text(OPENID, "a")
    await second.send_text(OPENID, "b")
    await first.send_text(OPENID, "c")
    assert fake.token_requests == 1
    assert len(fake.sent) == 3


async def test_the_token_is_fetched_once_across_a_restart(
    database: Database, cipher: FieldCipher, fake: FakeWeChatApi, oa_client: Client
) -> None:
    await oa_client(StoredApiTokens(db=database, cipher=cipher)).send_text(OPENID, "a")
    restarted = Database(database.url)  # the next process, on the same database
    try:
        await oa_client(StoredApiTokens(db=restarted, cipher=cipher)).send_text(OPENID, "b")
    finally:
        await restarted.close()
    assert fake.token_requests == 1
    assert len(fake.sent) == 2


async def test_a_rejected_token_is_replaced_in_the_store_and_the_other_process_takes_it(
    database: Database, cipher: FieldCipher, fake: FakeWeChatApi, oa_client: Client
) -> None:
    tokens = StoredApiTokens(db=database, cipher=cipher)
    this, other = oa_client(tokens), oa_client(tokens)
    await this.send_text(OPENID, "a")
    await other.send_text(OPENID, "b")  # both now hold the stored token
    (stale,) = fake.issued_tokens
    fake.expire_tokens(40001)  # e.g. fetched anew by a tool outside Careline
    await this.send_text(OPENID, "c")  # refused once, fetched anew, stored, sent
    assert fake.token_requests == 2
    replacement = await tokens.load(OA_KEY)
    assert replacement is not None and replacement.value not in ("", stale)
    await other.send_text(OPENID, "d")  # refused once, takes the stored replacement
    assert fake.token_requests == 2
    assert [m.content for m in fake.sent] == ["a", "b", "c", "d"]


async def test_a_scheduled_refresh_by_one_process_serves_the_other(
    database: Database,
    cipher: FieldCipher,
    fake: FakeWeChatApi,
    oa_client: Client,
    clock: FakeClock,
) -> None:
    tokens = StoredApiTokens(db=database, cipher=cipher)
    this, other = oa_client(tokens), oa_client(tokens)
    await this.send_text(OPENID, "a")
    await other.send_text(OPENID, "b")
    clock.now = T0 + 7200 - 299  # inside the refresh margin
    await this.send_text(OPENID, "c")
    await other.send_text(OPENID, "d")
    assert fake.token_requests == 2


async def test_an_expired_stored_token_is_not_used(
    database: Database,
    cipher: FieldCipher,
    fake: FakeWeChatApi,
    oa_client: Client,
    clock: FakeClock,
) -> None:
    tokens = StoredApiTokens(db=database, cipher=cipher)
    await oa_client(tokens).send_text(OPENID, "a")
    clock.now = T0 + 7200
    await oa_client(tokens).send_text(OPENID, "b")
    assert fake.token_requests == 2


async def test_a_failed_early_refresh_keeps_the_stored_token(
    database: Database,
    cipher: FieldCipher,
    fake: FakeWeChatApi,
    oa_client: Client,
    clock: FakeClock,
) -> None:
    tokens = StoredApiTokens(db=database, cipher=cipher)
    await oa_client(tokens).send_text(OPENID, "a")
    clock.now = T0 + 7200 - 100
    fake.fail_next_token(-1, "system error")
    await oa_client(tokens).send_text(OPENID, "b")  # a new process: the stored one still lasts
    assert fake.token_requests == 2
    assert len(fake.sent) == 2


async def test_the_stored_token_is_encrypted_and_bound_to_its_app(
    database: Database, cipher: FieldCipher, fake: FakeWeChatApi, clock: FakeClock
) -> None:
    tokens = StoredApiTokens(db=database, cipher=cipher)
    async with WeComClient(
        FAKE_CORPID, FAKE_CORPSECRET, 1000002, base_url=fake.base_url, tokens=tokens, clock=clock
    ) as wecom:
        token = await wecom.access_token()
    async with database.session() as session:
        row = await session.scalar(select(ApiToken))
    assert row is not None and row.key == f"wecom:{FAKE_CORPID}:1000002"
    assert token not in row.value_encrypted
    assert row.expires_at.timestamp() == T0 + 7200
    async with database.write() as session:
        row.key = OA_KEY  # another app's row with this value: it must not decrypt there
        session.add(row)
    with pytest.raises(Exception):  # noqa: B017 (cryptography's InvalidTag)
        await tokens.load(OA_KEY)


async def test_an_older_token_does_not_replace_a_newer_one(
    database: Database, cipher: FieldCipher
) -> None:
    tokens = StoredApiTokens(db=database, cipher=cipher)
    await tokens.save(OA_KEY, StoredToken("newer", fetched_at=T0 + 60, expires_at=T0 + 7260))
    await tokens.save(OA_KEY, StoredToken("older", fetched_at=T0, expires_at=T0 + 7200))
    assert await tokens.load(OA_KEY) == StoredToken("newer", T0 + 60, T0 + 7260)
    await tokens.save(OA_KEY, StoredToken("newest", fetched_at=T0 + 120, expires_at=T0 + 7320))
    assert await tokens.load(OA_KEY) == StoredToken("newest", T0 + 120, T0 + 7320)


async def test_without_its_database_the_client_carries_on_with_its_own_token(
    database: Database, cipher: FieldCipher, fake: FakeWeChatApi, oa_client: Client
) -> None:
    unreachable = Database(database.url.set(database=str(database.url.database) + "-gone"))
    if database.dialect == "sqlite":  # a directory where the file would be: no connection
        os.mkdir(str(unreachable.url.database))
    client = oa_client(StoredApiTokens(db=unreachable, cipher=cipher))
    threads_before = set(threading.enumerate())
    try:
        await client.send_text(OPENID, "a")
        await client.send_text(OPENID, "b")
    finally:
        await unreachable.close()
        await _let_failed_sqlite_connects_stop(threads_before)
    assert fake.token_requests == 1
    assert len(fake.sent) == 2


async def _let_failed_sqlite_connects_stop(threads_before: set[threading.Thread]) -> None:
    """aiosqlite stops the thread of a connection that failed to open from that thread, and
    answers the stop on the loop it was made on: if the test's loop closes first, the thread
    dies with "Event loop is closed" during a later test (omnilib/aiosqlite#241). Its threads
    are named after their target; they end once the stop ran."""
    for thread in set(threading.enumerate()) - threads_before:
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 10)
            assert not thread.is_alive()


async def test_a_wrong_secret_is_still_an_error_with_a_store(
    database: Database, cipher: FieldCipher, fake: FakeWeChatApi, clock: FakeClock
) -> None:
    tokens = StoredApiTokens(db=database, cipher=cipher)
    async with OfficialAccountClient(
        FAKE_APPID, "wrong-secret", base_url=fake.base_url, tokens=tokens, clock=clock
    ) as client:
        with pytest.raises(WeChatApiError):
            await client.send_text(OPENID, "x")
    assert await tokens.load(OA_KEY) is None
