"""HMAC-signed JSON webhooks (the care group bridge, the hotline): who may post.

A sender signs each request with a shared secret::

    X-Careline-Timestamp: <unix seconds>
    X-Careline-Nonce:     <random string, 8-128 characters, new for every request>
    X-Careline-Signature: hex(HMAC-SHA256(secret, f"{timestamp}\\n{nonce}\\n".encode() + body))

The signature is checked first (nothing of a forged request is remembered), then the timestamp
must be within 5 minutes of now and the (timestamp, nonce) pair not used before by another body
(``bot.channels.wechat.replay``, remembered in the database for every replica): the very same
request sent again is the sender's retry and gets the same answer (the message id de-duplicates
it), anything else with a used nonce is refused. Every failure is a :class:`WebhookRejected`
with the status to answer (403, no detail) and a short ``reason`` for the rejection counter.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.channels.wechat.replay import (
    DEFAULT_WINDOW_SECONDS,
    AcceptedRequests,
    ReplayGuard,
    ReplayRejected,
    Ticket,
)

__all__ = [
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Signature",
    "SignedRequest",
    "SignedWebhook",
    "WebhookRejected",
    "check_signature",
    "sign",
    "signed_headers",
]

TIMESTAMP_HEADER = "X-Careline-Timestamp"
NONCE_HEADER = "X-Careline-Nonce"
SIGNATURE_HEADER = "X-Careline-Signature"
MIN_NONCE_LENGTH = 8
FORBIDDEN = 403


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Signature:
    timestamp: str
    nonce: str
    signature: str  # lower-case hex


@dataclass(frozen=True, slots=True)
class SignedRequest:
    timestamp: str
    nonce: str
    ticket: Ticket  # what the replay guard let in


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    # surrogateescape: hostile header bytes give a mismatch, not an exception.
    message = f"{timestamp}\n{nonce}\n".encode("utf-8", "surrogateescape") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int | str, nonce: str) -> dict[str, str]:
    """The headers a sender adds (for bridges written in Python, tests and the benchmark)."""
    timestamp = str(timestamp)
    return {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(secret, timestamp, nonce, body),
    }


def check_signature(secret: str, headers: Mapping[str, str], body: bytes) -> Signature:
    """The signed timestamp and nonce, if the signature holds (no replay check)."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    nonce = headers.get(NONCE_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not (timestamp and nonce and signature):
        raise WebhookRejected(FORBIDDEN, "missing_signature")
    expected = sign(secret, timestamp, nonce, body)
    given = signature.strip().lower()
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape")):
        raise WebhookRejected(FORBIDDEN, "bad_signature")
    return Signature(timestamp, nonce, given)


class SignedWebhook:
    """One signed webhook endpoint; ``accepted`` is the replay guard's memory (the database)."""

    def __init__(
        self,
        secret: str,
        accepted: AcceptedRequests,
        *,
        channel: str,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("secret must not be empty")
        self._secret = secret
        self._guard = ReplayGuard(channel, accepted, window_seconds=window_seconds, clock=clock)

    async def verify(self, headers: Mapping[str, str], body: bytes) -> SignedRequest:
        signed = check_signature(self._secret, headers, body)
        if len(signed.nonce) < MIN_NONCE_LENGTH:
            raise WebhookRejected(FORBIDDEN, "replay_bad_nonce")
        try:
            ticket = await self._guard.check(
                signed.timestamp, signed.nonce, signature=signed.signature, body=body
            )
        except ReplayRejected as exc:
            raise WebhookRejected(FORBIDDEN, f"replay_{exc.reason}") from None
        return SignedRequest(signed.timestamp, signed.nonce, ticket)

    async def release(self, request: SignedRequest) -> None:
        """The request was accepted but could not be stored: let the sender's retry in."""
        await self._guard.release(request.ticket)


# --- Without a nonce: for senders whose requests are idempotent by their own ids -------------
#
# The hotline's call system signs "{timestamp}\n" + body. A captured request replayed within the
# window changes nothing (the call id de-duplicates it), so no nonce is remembered: only the
# signature and the 5-minute window are checked.

__all__ += ["TimestampedWebhook", "sign_timestamped", "timestamped_headers"]


def sign_timestamped(secret: str, timestamp: str, body: bytes) -> str:
    message = f"{timestamp}\n".encode("utf-8", "surrogateescape") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def timestamped_headers(secret: str, body: bytes, *, timestamp: int | str) -> dict[str, str]:
    """The headers a sender adds (for tests and senders written in Python)."""
    timestamp = str(timestamp)
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign_timestamped(secret, timestamp, body),
    }


class TimestampedWebhook:
    def __init__(
        self,
        secret: str,
        *,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("secret must not be empty")
        self._secret = secret
        self._window = window_seconds
        self._clock = clock

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Signature first (a forged request learns nothing of the clock), then the window."""
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not (timestamp and signature):
            raise WebhookRejected(FORBIDDEN, "missing_signature")
        expected = sign_timestamped(self._secret, timestamp, body)
        given = signature.strip().lower().encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(expected.encode(), given):
            raise WebhookRejected(FORBIDDEN, "bad_signature")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise WebhookRejected(FORBIDDEN, "replay_bad_timestamp")
        skew = int(timestamp) - self._clock()
        if skew < -self._window:
            raise WebhookRejected(FORBIDDEN, "replay_stale")
        if skew > self._window:
            raise WebhookRejected(FORBIDDEN, "replay_future")
