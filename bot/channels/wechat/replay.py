"""Replay guard for signed callbacks: stale timestamps, and nonces reused with another body.

WeChat's ``signature`` / ``msg_signature`` never expire, so a captured request would verify
forever. The callback query carries the ``timestamp`` and ``nonce`` the signature covers
(https://developers.weixin.qq.com/doc/subscription/guide/dev/push/encryption); this guard
rejects a timestamp more than ``window_seconds`` away from now, and remembers each accepted
(timestamp, nonce) with a fingerprint of what was signed (the signature and the body) until its
timestamp leaves the window (after that the timestamp check alone rejects it).

A request identical to one already accepted is WeChat's retry and gets in again: it flows on to
the de-duplication by message id, which answers what the first delivery got. Only a reused
nonce with *another* body is a replay and is refused. That matters in plain mode, where the
signature covers the timestamp and nonce but not the body. The pair, not the nonce alone, is
the key: two genuine messages may share a nonce (the published vectors do).

The memory is :class:`AcceptedRequests`, kept in the database (``bot.accepted_requests``), so
it holds across restarts and for every replica. Call :meth:`ReplayGuard.check` only *after* the
signature verified, so forged requests never write a row nor burn a genuine nonce, and
:meth:`ReplayGuard.release` when an accepted request then fails before its message is stored,
so WeChat's retry gets in even if it was signed afresh with the same timestamp and nonce.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

__all__ = [
    "DEFAULT_WINDOW_SECONDS",
    "AcceptedRequests",
    "Admission",
    "NonceUse",
    "ReplayGuard",
    "ReplayReason",
    "ReplayRejected",
    "Ticket",
]

DEFAULT_WINDOW_SECONDS = 300
MAX_NONCE_LENGTH = 128
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

ReplayReason = Literal["bad_timestamp", "bad_nonce", "stale", "future", "reused_nonce"]


class ReplayRejected(Exception):
    """The request is stale, from the future, malformed or a replay; ``reason`` says which."""

    def __init__(self, reason: ReplayReason) -> None:
        super().__init__(reason)
        self.reason: ReplayReason = reason


class Admission(StrEnum):
    NEW = "new"  # first seen: remembered now
    RETRY = "retry"  # the very same request again: let in, nothing more remembered
    REPLAY = "replay"  # its nonce was used with another body: refused


@dataclass(frozen=True, slots=True)
class NonceUse:
    """One accepted use of a signed (timestamp, nonce) on one channel."""

    channel: str
    sent_at: int  # the signed timestamp, Unix seconds
    nonce: str
    fingerprint: str  # SHA-256 hex over the signature and the body
    expires_at: float  # Unix seconds; from then on the timestamp check alone refuses it


class AcceptedRequests(Protocol):
    """Where accepted requests are remembered, for every process."""

    async def accept(self, use: NonceUse, *, now: float) -> Admission:
        """Remember ``use`` unless its (channel, timestamp, nonce) is known; say which it was."""
        ...

    async def forget(self, use: NonceUse) -> None:
        """Drop ``use`` (only the row with its own fingerprint)."""
        ...


@dataclass(frozen=True, slots=True)
class Ticket:
    """What :meth:`ReplayGuard.check` let in, to hand back to :meth:`ReplayGuard.release`."""

    use: NonceUse
    first: bool  # this request wrote the entry; a retry's release leaves the first one's


def fingerprint(signature: str, body: bytes | str) -> str:
    raw = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
    digest = hashlib.sha256(signature.encode("utf-8", "surrogateescape"))
    digest.update(b"\n")
    digest.update(raw)
    return digest.hexdigest()


class ReplayGuard:
    """The replay check of one callback endpoint (``channel`` names it in the shared memory).

    ``clock`` returns epoch seconds (injectable so tests never sleep).
    """

    def __init__(
        self,
        channel: str,
        accepted: AcceptedRequests,
        *,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.channel = channel
        self._accepted = accepted
        self._window = window_seconds
        self._clock = clock

    async def check(
        self, timestamp: str, nonce: str, *, signature: str, body: bytes | str
    ) -> Ticket:
        """Let the request in (remembering it if new), or raise :class:`ReplayRejected`."""
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
        use = NonceUse(
            channel=self.channel,
            sent_at=sent_at,
            nonce=nonce,
            fingerprint=fingerprint(signature, body),
            expires_at=sent_at + self._window,
        )
        admission = await self._accepted.accept(use, now=now)
        if admission is Admission.REPLAY:
            raise ReplayRejected("reused_nonce")
        return Ticket(use, first=admission is Admission.NEW)

    async def release(self, ticket: Ticket) -> None:
        """Forget an accepted request that could not be handled (e.g. storage failed).

        WeChat retries a request that got no good answer; if it signs the retry afresh with the
        same timestamp and nonce, that must not be mistaken for a replay, or the message is lost.
        """
        if ticket.first:
            await self._accepted.forget(ticket.use)
