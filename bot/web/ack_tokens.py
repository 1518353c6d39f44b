"""Signed, expiring, single-purpose tokens for the one-tap acknowledgement link.

A token names one escalation, one recipient and one purpose, and carries its own expiry::

    <payload>.<signature>      both base64url without padding
    payload   = JSON {"v": 1, "p": purpose, "e": escalation id, "r": recipient id,
                      "x": expiry (unix seconds), "n": random token id}
    signature = HMAC-SHA256(key, payload bytes as sent), key = HMAC-SHA256(secret, DOMAIN)

The key is derived from ``CARELINE_ACK_SECRET`` with a fixed domain label, so a signature made
for anything else with the same secret never verifies here. The signature is checked (in
constant time) before anything in the payload is believed; only then purpose and expiry. The
token id lets the acknowledgement page remember a used link and say so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "ACK",
    "AckClaims",
    "AckTokenError",
    "ack_url",
    "make_ack_token",
    "verify_ack_token",
]

ACK = "ack"
VERSION = 1
DOMAIN = b"careline/ack-token/v1"
MAX_TOKEN_LENGTH = 1024

Reason = Literal["malformed", "forged", "expired", "wrong_purpose"]


class AckTokenError(Exception):
    """The token cannot be used; ``reason`` says why, for the page and the rejection counter."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


@dataclass(frozen=True, slots=True)
class AckClaims:
    escalation_id: int
    recipient_id: str
    purpose: str
    expires_at: datetime
    token_id: str


def make_ack_token(
    secret: str,
    *,
    escalation_id: int,
    recipient_id: str,
    expires_at: datetime,
    purpose: str = ACK,
    token_id: str | None = None,
) -> str:
    if not secret:
        raise ValueError("secret must not be empty")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be an aware datetime")
    claims = {
        "v": VERSION,
        "p": purpose,
        "e": escalation_id,
        "r": recipient_id,
        "x": int(expires_at.timestamp()),
        "n": token_id or secrets.token_urlsafe(9),
    }
    payload = _b64encode(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_b64encode(_sign(secret, payload))}"


def verify_ack_token(secret: str, token: str, *, now: datetime, purpose: str = ACK) -> AckClaims:
    """The token's claims, or :class:`AckTokenError` (malformed, forged, wrong_purpose, expired)."""
    if not secret:
        raise ValueError("secret must not be empty")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise AckTokenError("malformed")
    payload, signature = token.split(".")
    try:
        given = _b64decode(signature)
    except ValueError:
        raise AckTokenError("malformed") from None
    if not hmac.compare_digest(given, _sign(secret, payload)):
        raise AckTokenError("forged")
    claims = _claims(payload)
    if claims.purpose != purpose:
        raise AckTokenError("wrong_purpose")
    if now >= claims.expires_at:
        raise AckTokenError("expired")
    return claims


def ack_url(base_url: str, token: str) -> str:
    """The link a recipient taps (the page lives in ``bot/web``)."""
    return f"{base_url.rstrip('/')}/ack/{token}"


def _claims(payload: str) -> AckClaims:
    # Signed by us, so a failure here is a token from another version, not an attack.
    try:
        raw = json.loads(_b64decode(payload))
        if raw["v"] != VERSION:
            raise AckTokenError("malformed")
        escalation_id, recipient_id, expiry = raw["e"], raw["r"], raw["x"]
        if not (
            isinstance(escalation_id, int)
            and isinstance(recipient_id, str)
            and isinstance(expiry, int)
            and isinstance(raw["p"], str)
            and isinstance(raw["n"], str)
        ):
            raise AckTokenError("malformed")
        return AckClaims(
            escalation_id=escalation_id,
            recipient_id=recipient_id,
            purpose=raw["p"],
            expires_at=datetime.fromtimestamp(expiry, UTC),
            token_id=raw["n"],
        )
    except (ValueError, KeyError, TypeError):
        raise AckTokenError("malformed") from None


def _sign(secret: str, payload: str) -> bytes:
    key = hmac.new(secret.encode("utf-8"), DOMAIN, hashlib.sha256).digest()
    return hmac.new(key, payload.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ValueError("not base64url") from None
