"""bot.channels.wechat.replay: stale/future timestamps, reused nonces, bounded memory."""

from __future__ import annotations

import pytest

from bot.channels.wechat.replay import ReplayGuard, ReplayRejected
from tests.wechat_vectors import load_vectors

NOW = 1_700_000_000


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rejected_reason(guard: ReplayGuard, timestamp: str, nonce: str) -> str:
    with pytest.raises(ReplayRejected) as info:
        guard.check(timestamp, nonce)
    return info.value.reason


def test_fresh_request_is_accepted_and_remembered() -> None:
    guard = ReplayGuard(clock=FakeClock())
    guard.check(str(NOW), "123456")
    assert len(guard) == 1


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_inside_the_window_pass(offset: int) -> None:
    guard = ReplayGuard(clock=FakeClock())
    guard.check(str(NOW + offset), "n")
    assert len(guard) == 1


def test_timestamp_more_than_five_minutes_old_is_stale() -> None:
    assert rejected_reason(ReplayGuard(clock=FakeClock()), str(NOW - 301), "n") == "stale"


def test_timestamp_more_than_five_minutes_ahead_is_rejected() -> None:
    assert rejected_reason(ReplayGuard(clock=FakeClock()), str(NOW + 301), "n") == "future"


@pytest.mark.parametrize(
    "timestamp", ["", "abc", "１７００００００００", "-5", "1.5", " 1700000000", "1" * 13, "0x10"]
)
def test_malformed_timestamp_is_rejected(timestamp: str) -> None:
    assert rejected_reason(ReplayGuard(clock=FakeClock()), timestamp, "n") == "bad_timestamp"


@pytest.mark.parametrize("nonce", ["", "x" * 129])
def test_missing_or_oversized_nonce_is_rejected(nonce: str) -> None:
    assert rejected_reason(ReplayGuard(clock=FakeClock()), str(NOW), nonce) == "bad_nonce"


def test_reused_nonce_is_rejected() -> None:
    clock = FakeClock()
    guard = ReplayGuard(clock=clock)
    guard.check(str(NOW), "415670741")
    clock.now += 120
    assert rejected_reason(guard, str(NOW), "415670741") == "reused_nonce"


def test_same_nonce_with_another_signed_timestamp_is_a_different_request() -> None:
    guard = ReplayGuard(clock=FakeClock())
    guard.check(str(NOW), "415670741")
    guard.check(str(NOW + 1), "415670741")
    assert len(guard) == 2


def test_released_pair_is_accepted_again() -> None:
    guard = ReplayGuard(clock=FakeClock())
    guard.check(str(NOW), "n1")
    guard.release(str(NOW), "n1")  # handling failed before the message was stored
    guard.check(str(NOW), "n1")  # WeChat's retry with the same signed pair gets in
    assert rejected_reason(guard, str(NOW), "n1") == "reused_nonce"
    guard.release("not a timestamp", "n1")  # ignored, never raises


def test_replay_after_the_window_is_still_rejected_as_stale() -> None:
    clock = FakeClock()
    guard = ReplayGuard(clock=clock)
    guard.check(str(NOW), "n1")
    clock.now += 301
    assert rejected_reason(guard, str(NOW), "n1") == "stale"


def test_entries_are_evicted_once_their_window_has_passed() -> None:
    clock = FakeClock()
    guard = ReplayGuard(clock=clock)
    for i in range(50):
        guard.check(str(NOW), f"old-{i}")
    assert len(guard) == 50
    clock.now += 301
    guard.check(str(int(clock.now)), "new")
    assert len(guard) == 1


def test_memory_is_capped_under_a_burst() -> None:
    guard = ReplayGuard(clock=FakeClock(), max_entries=100)
    for i in range(1000):
        guard.check(str(NOW - 200 + i % 400), f"n{i}")
    assert len(guard) == 100
    assert guard.evicted_early == 900
    # The newest pairs are still remembered.
    assert rejected_reason(guard, str(NOW - 200 + 999 % 400), "n999") == "reused_nonce"


def test_custom_window() -> None:
    guard = ReplayGuard(clock=FakeClock(), window_seconds=10)
    guard.check(str(NOW - 10), "a")
    assert rejected_reason(guard, str(NOW - 11), "b") == "stale"


@pytest.mark.parametrize("kwargs", [{"window_seconds": 0}, {"max_entries": 0}])
def test_invalid_configuration_is_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ReplayGuard(**kwargs)  # type: ignore[arg-type]


def test_published_vectors_pass_only_with_their_own_clock() -> None:
    vectors = load_vectors()
    real_time_guard = ReplayGuard()
    for vector in vectors:
        timestamp, nonce = vector.inputs["timestamp"], vector.inputs["nonce"]
        assert rejected_reason(real_time_guard, timestamp, nonce) == "stale"
        own_clock_guard = ReplayGuard(clock=FakeClock(int(timestamp) + 5))
        own_clock_guard.check(timestamp, nonce)
        assert len(own_clock_guard) == 1
