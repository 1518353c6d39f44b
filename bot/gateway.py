"""What a channel may do with Careline: the narrow port every channel adapter is given.

A channel turns its platform's request into an ``InboundMessage``, hands it over, and answers
with what comes back (``Outcome``); outbound work it owes (a late WeChat reply) goes through
``bot.late_replies``. It never sees the database, the policy or the rest of the service.
``bot.pipeline.Pipeline`` is the implementation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from bot.clock import Clock
from bot.message import InboundMessage, Outcome, Taken, Together


class Gateway(Protocol):
    clock: Clock

    async def submit(self, inbound: InboundMessage) -> asyncio.Future[Outcome]:
        """Store the message; the future of its outcome (stored once this returns)."""
        ...

    async def submit_batch(self, groups: Sequence[Together]) -> list[Taken]:
        """What several senders said (each group: one sender's messages and a record, as a
        call's transcript brings them), classified, stored and decided in one transaction
        (stored once this returns); per group, its outcomes and whether its record was
        stored now. A sender met again starts a transaction of her own: when only the first
        of them could be stored, ``bot.message.PartlyTaken`` answers those."""
        ...

    async def handle(self, inbound: InboundMessage) -> Outcome: ...

    async def record(self, inbound: InboundMessage) -> bool:
        """Keep a message with nothing to classify (a picture, a call that ended) in her
        thread; False when it was kept before."""
        ...

    async def replay(self, message_id: int) -> Outcome:
        """The outcome of a message handled before."""
        ...
