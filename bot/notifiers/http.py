"""The HTTP POST that the robot, SMS and webhook senders share, and how its failures count.

2xx is delivered; 408, 425, 429 and 5xx, a timeout or a lost connection are worth retrying;
any other answer is permanent. Reasons name the status or the error type, never the URL (the
WeCom robot's carries its key).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp

from bot.channels.signed_webhook import signed_headers
from bot.notifiers.base import DeliveryResult

__all__ = ["HttpAnswer", "HttpFailure", "post", "post_signed"]

RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    body: bytes


class HttpFailure(Exception):
    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    timeout_seconds: float,
    params: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """POST and read the answer; a non-2xx status or a transport error is :class:`HttpFailure`."""
    try:
        async with session.post(
            url,
            data=body,
            headers=dict(headers),
            params=params,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
            allow_redirects=False,
        ) as response:
            raw = await response.read()
            status = response.status
    except TimeoutError:
        raise HttpFailure("timeout", retryable=True) from None
    except aiohttp.ClientError as exc:
        # str(exc) may carry the URL: keep only the type.
        raise HttpFailure(f"connection failed ({type(exc).__name__})", retryable=True) from None
    if not 200 <= status < 300:
        retryable = status in RETRYABLE_STATUSES or status >= 500
        raise HttpFailure(f"HTTP {status}", retryable=retryable)
    return HttpAnswer(status, raw)


async def post_signed(
    sender: str,
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    *,
    secret: str,
    clock: Callable[[], float],
    timeout_seconds: float,
    extra_headers: Mapping[str, str] | None = None,
) -> DeliveryResult:
    """POST JSON signed like Careline's own webhooks (see ``bot/channels/signed_webhook.py``)."""
    headers = signed_headers(secret, body, timestamp=int(clock()), nonce=secrets.token_hex(12))
    headers["Content-Type"] = "application/json; charset=utf-8"
    headers.update(extra_headers or {})
    try:
        await post(session, url, body, headers=headers, timeout_seconds=timeout_seconds)
    except HttpFailure as exc:
        return DeliveryResult.failed(sender, exc.reason, retryable=exc.retryable)
    return DeliveryResult.ok(sender)
