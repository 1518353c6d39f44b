"""Replay guard for signed WeChat callbacks: stale timestamps and reused nonces.

WeChat's ``signature`` / ``msg_signature`` never expire, so a captured request would verify
forever. The callback query carries the ``timestamp`` and ``nonce`` the signature covers
(https://developers.weixin.qq.com/doc/subscription/guide/dev/push/encryption); this guard
rejects a timestamp more than ``window_seconds`` away from now and a (timestamp, nonce) pair
it has already seen.

The pair, not the nonce alone, is remembered: a replay cannot change the signed timestamp, while
two genuine messages may share a nonce (the published vectors do) and must both get through.
An entry is kept only while its timestamp is inside the window (after that the timestamp check
alone rejects the replay), so memory is bounded by the message rate; ``max_entries`` is a hard
cap on top of that.

Call :meth:`ReplayGuard.check` only *after* the signature verified, so forged requests can
neither fill the memory nor burn a genuine nonce, and :meth:`ReplayGuard.release` when an
accepted request then fails before its message is stored, so WeChat's retry still gets in.
"""

from __future__ import annotations

import heapq
import logging
import re
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["DEFAULT_WINDOW_SECONDS", "ReplayGuard", "ReplayReason", "ReplayRejected"]

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_SECONDS = 300
MAX_NONCE_LENGTH = 128
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

ReplayReason = Literal["bad_timestamp", "bad_nonce", "stale", "future", "reused_nonce"]


class ReplayRejected(Exception):
    """The request is stale, from the future, malformed or a replay; ``reason`` says which."""

    def __init__(self, reason: ReplayReason) -> None:
        super().__init__(reason)
        self.reason: ReplayReason = reason


class ReplayGuard:
    """Remembers recent (timestamp, nonce) pairs of one callback endpoint.

    ``clock`` returns epoch seconds (injectable so tests never sleep). Not thread-safe; meant
    for one asyncio event loop, where :meth:`check` runs without yielding.
    """

    def __init__(
        self,
        *,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        max_entries: int = 100_000,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._window = window_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._seen: set[tuple[int, str]] = set()
        self._expiry_heap: list[tuple[int, str]] = []  # (timestamp, nonce), earliest first
        self.evicted_early = 0  # entries dropped by the hard cap before their window ended

    def __len__(self) -> int:
        return len(self._seen)

    def check(self, timestamp: str, nonce: str) -> None:
        """Accept and remember the pair, or raise :class:`ReplayRejected`."""
        if not _TIMESTAMP.fullmatch(timestamp):
            raise ReplayRejected("bad_timestamp")
        if not nonce or len(nonce) > MAX_NONCE_LENGTH:
            raise ReplayRejected("bad_nonce")
        sent_at = int(timestamp)
        now = self._clock()
        if sent_at < now - self._window:
            raise ReplayRejected("stale")
        if sent_at > now + self._window:
            raise ReplayRejected("future")
        self._forget_before(now - self._window)
        key = (sent_at, nonce)
        if key in self._seen:
            raise ReplayRejected("reused_nonce")
        self._remember(key)

    def release(self, timestamp: str, nonce: str) -> None:
        """Forget an accepted pair whose request could not be handled (e.g. storage failed).

        WeChat retries a request that got no good answer; if the retry reuses the signed
        timestamp and nonce it must not be mistaken for a replay, or the message is lost.
        """
        if _TIMESTAMP.fullmatch(timestamp):
            # The heap keeps its entry; popping an already-forgotten pair later is harmless.
            self._seen.discard((int(timestamp), nonce))

    def _forget_before(self, oldest_allowed: float) -> None:
        heap = self._expiry_heap
        while heap and heap[0][0] < oldest_allowed:
            self._seen.discard(heapq.heappop(heap))

    def _remember(self, key: tuple[int, str]) -> None:
        if len(self._seen) >= self._max_entries:
            # Over the cap the oldest pair goes, weakening replay protection for it only
            # slightly (its timestamp is the closest to expiring) instead of refusing mothers.
            self._seen.discard(heapq.heappop(self._expiry_heap))
            if self.evicted_early == 0:
                logger.warning("replay guard full (%d entries); evicting early", len(self._seen))
            self.evicted_early += 1
        self._seen.add(key)
        heapq.heappush(self._expiry_heap, key)
