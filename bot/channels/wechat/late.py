"""Replies that miss WeChat's deadline go out later as API messages, exactly once per message.

WeChat drops a passive reply that comes after 5 s (and retries the request), so the endpoint
answers "success" at its deadline and hands the reply here: it is sent through the
customer-service (Official Account) or app-message (WeCom) API once the outcome is ready.

The claim is stored (``late_reply``) before the request is answered: once a message's reply is
claimed for the API, every later delivery of the same message answers "success" too (the API
send is not idempotent, a passive reply is), and a reply still owed when the service stops is
sent when it starts again. A send that certainly did not go out (WeChat busy, no connection, an
HTTP error) is tried again after each of ``retry_delays``; a stop during those waits leaves the
claim owed for the next start. A send that may have gone out (a timeout, an answer cut off) is
not tried again: she must not get it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from bot.channels.stats import ChannelStats
from bot.channels.wechat.api import ERRCODE_OUT_OF_SERVICE_WINDOW, WeChatApiError
from bot.gateway import Gateway
from bot.late_replies import LateReplyStatus, StoredLateReplies
from bot.message import Outcome

log = logging.getLogger("careline.channels.wechat")

Send = Callable[[str, str], Awaitable[None]]  # (recipient id, text)

# WeChat's "system busy, try again later".
ERRCODE_SYSTEM_BUSY = -1


def _worth_retrying(exc: WeChatApiError) -> bool:
    """WeChat was busy, or the request certainly never reached it."""
    if exc.errcode is None:
        return not exc.may_have_been_delivered
    return exc.errcode == ERRCODE_SYSTEM_BUSY


class _Stopping(Exception):
    """The service is stopping while a late reply waits to be tried again."""


class LateReplies:
    def __init__(
        self,
        *,
        channel: str,
        send: Send | None,
        stats: ChannelStats,
        gateway: Gateway,
        book: StoredLateReplies,
        retry_delays: Sequence[float] = (),
        max_remembered: int = 10_000,
    ) -> None:
        self._channel = channel
        self._send = send
        self._stats = stats
        self._gateway = gateway
        self._book = book
        self._retry_delays = tuple(retry_delays)
        self._stopping = asyncio.Event()
        # Claims seen by this process, so the common case needs no query.
        self._max_remembered = max_remembered
        self._claims: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

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
        """Store the claim, then send ``outcome``'s reply to ``recipient`` once it is ready."""
        if key in self._claims:
            return
        claim_id = await self._book.claim(self._channel, key, recipient)
        # Only once stored: a claim that failed to be written (the request answers 503) must not
        # make WeChat's retry answer "success" with nothing owed to her.
        self._remember(key)
        if claim_id is not None:
            self._start(claim_id, recipient, asyncio.shield(outcome))

    async def resume(self) -> int:
        """Send the replies a stop left owed (at start-up); how many were taken up."""
        resumed = 0
        for owed in await self._book.owed(self._channel):
            if not owed.handled or owed.message_id is None:
                log.warning(
                    "%s: late reply #%s waits for its message", self._channel, owed.claim_id
                )
                continue
            self._remember(owed.key)
            self._start(owed.claim_id, owed.recipient, self._gateway.replay(owed.message_id))
            resumed += 1
        if resumed:
            log.warning("%s: sending %d late replies owed before a restart", self._channel, resumed)
        return resumed

    async def drain(self) -> None:
        """Wait for every late reply under way (tests; ``close`` at shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """At shutdown: finish sends under way; replies waiting to retry stay owed."""
        self._stopping.set()
        await self.drain()

    def _remember(self, key: str) -> None:
        self._claims[key] = None
        if len(self._claims) > self._max_remembered:
            self._claims.popitem(last=False)

    def _start(self, claim_id: int | None, recipient: str, outcome: Awaitable[Outcome]) -> None:
        assert claim_id is not None
        task = asyncio.ensure_future(self._deliver(claim_id, recipient, outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, claim_id: int, recipient: str, outcome: Awaitable[Outcome]) -> None:
        try:
            ready = await outcome
        except Exception:
            # The message is stored; the pipeline logged why handling failed and a restart
            # handles it again, then sends this reply (the claim stays pending).
            self._stats.late_reply(self._channel, "not_handled")
            return
        try:
            status, attempts = await self._send_with_retries(ready, recipient)
        except _Stopping:
            log.warning("%s: late reply #%s is sent at the next start", self._channel, claim_id)
            return
        self._stats.late_reply(self._channel, status.value)
        await self._book.finish(claim_id, status, attempts=attempts)

    async def _send_with_retries(
        self, outcome: Outcome, recipient: str
    ) -> tuple[LateReplyStatus, int]:
        """The final status, and how many sends it took."""
        attempts = 0
        for delay in (*self._retry_delays, None):
            attempts += 1
            status, transient = await self._send_reply(outcome, recipient)
            if not transient or delay is None:
                return status, attempts
            await self._wait_or_stop(delay)
        raise AssertionError("unreachable")

    async def _wait_or_stop(self, delay: float) -> None:
        if self._stopping.is_set():
            raise _Stopping
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except TimeoutError:
            return
        raise _Stopping

    async def _send_reply(self, outcome: Outcome, recipient: str) -> tuple[LateReplyStatus, bool]:
        """One try: its status, and whether a later try might succeed."""
        message_id = outcome.message_id
        if outcome.reply is None:
            return LateReplyStatus.NO_REPLY, False
        if self._send is None:
            log.warning(
                "%s: reply of message #%s missed the deadline and no API secret is "
                "configured to send it",
                self._channel,
                message_id,
            )
            return LateReplyStatus.NO_API, False
        try:
            await self._send(recipient, outcome.reply.text)
        except WeChatApiError as exc:
            if exc.errcode == ERRCODE_OUT_OF_SERVICE_WINDOW:
                # Outside the 48 h after her last message: WeChat refuses; retrying cannot help.
                log.warning(
                    "%s: late reply to message #%s refused: outside the 48 h window",
                    self._channel,
                    message_id,
                )
                return LateReplyStatus.OUT_OF_WINDOW, False
            log.warning("%s: late reply to message #%s failed: %s", self._channel, message_id, exc)
            return LateReplyStatus.FAILED, _worth_retrying(exc)
        except Exception as exc:
            log.warning(
                "%s: late reply to message #%s failed: %s",
                self._channel,
                message_id,
                type(exc).__name__,
            )
            return LateReplyStatus.FAILED, True
        log.info("%s: reply to message #%s sent late through the API", self._channel, message_id)
        return LateReplyStatus.SENT, False
