"""Messages to a mother on her own channel: the outbound half of the channel port.

A channel that can write to her first (WeChat's customer-service messages, WeCom app messages)
offers a ``MotherSender``; the outbox worker sends late replies and check-ins through it. The
sender says how a failed send went in the channel-neutral terms below, so the worker knows
whether to try again, to hand the check-in to a worker, or to stop because she may have it.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Protocol


class SendFailure(Enum):
    RETRY = "retry"  # certainly not delivered; a later try may work (busy, no connection)
    MAYBE_SENT = "maybe_sent"  # may have reached her (timeout): never send it again
    OUT_OF_WINDOW = "out_of_window"  # the platform only lets us answer recent writers
    REFUSED = "refused"  # certainly not delivered, and trying again will not help


class SendError(Exception):
    def __init__(self, failure: SendFailure, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail  # short, no message text, recipient or secret


class MotherSender(Protocol):
    # The identity kind (``bot.message.IdentityKind``) the recipient is written in.
    identity_kind: str
    # How long after her last message the platform accepts one from us; None: always.
    reply_window: timedelta | None

    async def send_text(self, recipient: str, text: str) -> None:
        """Send, or raise ``SendError``."""
        ...

    async def close(self) -> None: ...
