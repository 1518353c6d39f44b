"""Replies that miss WeChat's deadline: claimed here, sent later from the outbox.

WeChat drops a passive reply that comes after 5 s (and retries the request), so the endpoint
answers "success" at its deadline and claims the reply (``bot.late_replies``), which goes out
through the customer-service (Official Account) or app-message (WeCom) API once her message is
handled. Once a message's reply is claimed, every later delivery of the same message answers
"success" too.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Protocol

from bot.message import Outcome


class LateReplyBook(Protocol):
    async def claimed(self, channel: str, key: str) -> bool: ...

    async def claim(self, channel: str, key: str, recipient: str) -> bool: ...

    def reply_ready(self) -> None: ...


class LateReplies:
    def __init__(self, *, channel: str, book: LateReplyBook, max_remembered: int = 10_000) -> None:
        self._channel = channel
        self._book = book
        # Claims seen by this process, so the common case needs no query.
        self._max_remembered = max_remembered
        self._claims: OrderedDict[str, None] = OrderedDict()

    async def claimed(self, key: str, *, look_up: bool = False) -> bool:
        """Whether the reply is owed through the API; ``look_up`` asks the database too."""
        if key in self._claims:
            return True
        if not look_up:
            return False
        found = await self._book.claimed(self._channel, key)
        if found:
            self._remember(key)
        return found

    async def claim(self, key: str, recipient: str, outcome: asyncio.Future[Outcome]) -> None:
        """Store the claim; its reply goes once ``outcome`` is ready (or a restart handled it)."""
        if key in self._claims:
            return
        first = await self._book.claim(self._channel, key, recipient)
        # Only once stored: a claim that failed to be written (the request answers 503) must not
        # make WeChat's retry answer "success" with nothing owed to her.
        self._remember(key)
        if first:
            outcome.add_done_callback(lambda _: self._book.reply_ready())

    def _remember(self, key: str) -> None:
        self._claims[key] = None
        if len(self._claims) > self._max_remembered:
            self._claims.popitem(last=False)
