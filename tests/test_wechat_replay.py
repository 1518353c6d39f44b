"""bot.channels.wechat.replay over its stored memory (bot.accepted_requests), on every database:
stale/future timestamps, a retry let in again, a reused nonce with another body refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.accepted_requests import StoredAcceptedRequests
from bot.channels.wechat.replay import ReplayGuard, ReplayRejected, Ticket
from storage.db import Database
from storage.models import AcceptedRequest
from tests.wechat_vectors import load_vectors

NOW = 1_700_000_000
SIGNATURE = "a" * 40
BODY = b"<xml><Encrypt>sealed</Encrypt></xml>"


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def guard_on(db: Database, clock: FakeClock | None = None, **options: float) -> ReplayGuard:
    return ReplayGuard(
        "wechat_mp", StoredAcceptedRequests(db), clock=clock or FakeClock(), **options
    )


async def check(
    guard: ReplayGuard,
    timestamp: str,
    nonce: str,
    *,
    body: bytes = BODY,
    signature: str = SIGNATURE,
) -> Ticket:
    return await guard.check(timestamp, nonce, signature=signature, body=body)


async def rejected_reason(guard: ReplayGuard, timestamp: str, nonce: str, **request: bytes) -> str:
    with pytest.raises(ReplayRejected) as info:
        await check(guard, timestamp, nonce, **request)  # type: ignore[arg-type]
    return info.value.reason


async def stored(db: Database) -> list[tuple[str, int, str]]:
    async with db.session() as session:
        rows = await session.scalars(select(AcceptedRequest).order_by(AcceptedRequest.id))
        return [(row.channel, row.sent_at, row.nonce) for row in rows]


async def test_a_fresh_request_is_let_in_and_stored_with_its_expiry(database: Database) -> None:
    ticket = await check(guard_on(database), str(NOW), "123456")
    assert ticket.first
    assert await stored(database) == [("wechat_mp", NOW, "123456")]
    async with database.session() as session:
        row = await session.scalar(select(AcceptedRequest))
    assert row is not None and row.expires_at == datetime.fromtimestamp(NOW + 300, UTC)
    assert len(row.fingerprint) == 64 and SIGNATURE not in row.fingerprint


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
async def test_timestamps_inside_the_window_pass(database: Database, offset: int) -> None:
    await check(guard_on(database), str(NOW + offset), "n")
    assert len(await stored(database)) == 1


async def test_timestamps_more_than_five_minutes_off_are_refused_and_not_stored(
    database: Database,
) -> None:
    guard = guard_on(database)
    assert await rejected_reason(guard, str(NOW - 301), "n") == "stale"
    assert await rejected_reason(guard, str(NOW + 301), "n") == "future"
    assert await stored(database) == []


@pytest.mark.parametrize(
    "timestamp", ["", "abc", "１７００００００００", "-5", "1.5", " 1700000000", "1" * 13, "0x10"]
)
async def test_malformed_timestamp_is_rejected(database: Database, timestamp: str) -> None:
    assert await rejected_reason(guard_on(database), timestamp, "n") == "bad_timestamp"


@pytest.mark.parametrize("nonce", ["", "x" * 129])
async def test_missing_or_oversized_nonce_is_rejected(database: Database, nonce: str) -> None:
    assert await rejected_reason(guard_on(database), str(NOW), nonce) == "bad_nonce"


async def test_an_identical_request_is_a_retry_let_in_without_a_second_row(
    database: Database,
) -> None:
    clock = FakeClock()
    guard = guard_on(database, clock)
    first = await check(guard, str(NOW), "415670741")
    clock.now += 120
    retry = await check(guard, str(NOW), "415670741")
    assert (first.first, retry.first) == (True, False)
    assert len(await stored(database)) == 1


async def test_the_same_nonce_and_timestamp_with_another_body_is_refused(
    database: Database,
) -> None:
    guard = guard_on(database)
    await check(guard, str(NOW), "415670741")
    other_body = await rejected_reason(guard, str(NOW), "415670741", body=b"<xml>forged</xml>")
    assert other_body == "reused_nonce"
    # A plain-mode signature covers only the timestamp and nonce: with another one, it is
    # another request again only if WeChat signed it, which the signature check decides.
    other_signature = await rejected_reason(guard, str(NOW), "415670741", signature="b" * 40)
    assert other_signature == "reused_nonce"
    assert len(await stored(database)) == 1


async def test_same_nonce_with_another_signed_timestamp_is_a_different_request(
    database: Database,
) -> None:
    guard = guard_on(database)
    await check(guard, str(NOW), "415670741")
    await check(guard, str(NOW + 1), "415670741", body=b"other")
    assert len(await stored(database)) == 2


async def test_each_channel_has_its_own_nonces(database: Database) -> None:
    accepted = StoredAcceptedRequests(database)
    official = ReplayGuard("wechat_mp", accepted, clock=FakeClock())
    wecom = ReplayGuard("wecom", accepted, clock=FakeClock())
    await check(official, str(NOW), "n1")
    await check(wecom, str(NOW), "n1", body=b"other")
    assert len(await stored(database)) == 2


async def test_the_guard_holds_for_another_process_and_after_a_restart(
    database: Database,
) -> None:
    await check(guard_on(database), str(NOW), "n1")
    restarted = Database(database.url)  # a new process on the same database
    try:
        again = guard_on(restarted)
        assert not (await check(again, str(NOW), "n1")).first
        assert await rejected_reason(again, str(NOW), "n1", body=b"<xml>other</xml>") == (
            "reused_nonce"
        )
    finally:
        await restarted.close()


async def test_a_released_entry_lets_the_retry_in(database: Database) -> None:
    guard = guard_on(database)
    ticket = await check(guard, str(NOW), "n1")
    await guard.release(ticket)  # handling failed before the message was stored
    assert await stored(database) == []
    # WeChat's retry, even if sealed afresh (another body) with the same signed pair, gets in.
    retry = await check(guard, str(NOW), "n1", body=b"<xml>sealed again</xml>")
    assert retry.first
    assert await rejected_reason(guard, str(NOW), "n1") == "reused_nonce"


async def test_releasing_a_retry_keeps_the_first_requests_entry(database: Database) -> None:
    guard = guard_on(database)
    await check(guard, str(NOW), "n1")
    retry = await check(guard, str(NOW), "n1")
    await guard.release(retry)  # the retry failed; the first one was stored
    assert len(await stored(database)) == 1
    assert await rejected_reason(guard, str(NOW), "n1", body=b"other") == "reused_nonce"


async def test_replay_after_the_window_is_still_rejected_as_stale(database: Database) -> None:
    clock = FakeClock()
    guard = guard_on(database, clock)
    await check(guard, str(NOW), "n1")
    clock.now += 301
    assert await rejected_reason(guard, str(NOW), "n1") == "stale"


async def test_expired_rows_are_pruned_in_bounded_batches(database: Database) -> None:
    clock = FakeClock()
    accepted = StoredAcceptedRequests(database, prune_every_seconds=60, prune_batch=20)
    guard = ReplayGuard("wechat_mp", accepted, clock=clock)
    for i in range(30):
        await check(guard, str(NOW), f"old-{i}")
    assert len(await stored(database)) == 30
    clock.now += 301  # every row's timestamp has left the window
    await check(guard, str(int(clock.now)), "new-1")
    assert len(await stored(database)) == 30 - 20 + 1, "one batch of expired rows went"
    await check(guard, str(int(clock.now)), "new-2")  # a full batch went: go on at once
    assert [nonce for _, _, nonce in await stored(database)] == ["new-1", "new-2"]
    clock.now += 30
    await check(guard, str(int(clock.now)), "new-3")  # nothing expired; not due again yet
    assert len(await stored(database)) == 3


async def test_custom_window(database: Database) -> None:
    guard = guard_on(database, window_seconds=10)
    await check(guard, str(NOW - 10), "a")
    assert await rejected_reason(guard, str(NOW - 11), "b") == "stale"


async def test_a_window_that_is_not_positive_is_refused(database: Database) -> None:
    with pytest.raises(ValueError):
        guard_on(database, window_seconds=0)


async def test_published_vectors_pass_only_with_their_own_clock(database: Database) -> None:
    real_time_guard = ReplayGuard("wechat_mp", StoredAcceptedRequests(database))
    signed = {(v.inputs["timestamp"], v.inputs["nonce"]) for v in load_vectors()}
    for timestamp, nonce in sorted(signed):
        assert await rejected_reason(real_time_guard, timestamp, nonce) == "stale"
        own_clock_guard = guard_on(database, FakeClock(int(timestamp) + 5))
        assert (await check(own_clock_guard, timestamp, nonce)).first
