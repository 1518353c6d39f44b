"""Replies that miss WeChat's deadline go out later as API messages, exactly once per message.

WeChat drops a passive reply that comes after 5 s (and retries the request), so the endpoint
answers "success" at its deadline and hands the reply here: it is sent through the
customer-service (Official Account) or app-message (WeCom) API once the outcome is ready.

Once a message's reply is *claimed* for the API, every later delivery of the same message (a
WeChat retry) answers "success" too: the API send is not idempotent, a passive reply is. Claims
are kept for the last ``max_claims`` messages, far more than WeChat's retry window needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from bot.channels.stats import ChannelStats
from bot.channels.wechat.api import ERRCODE_OUT_OF_SERVICE_WINDOW, WeChatApiError
from bot.message import Outcome

log = logging.getLogger("careline.channels.wechat")

Send = Callable[[str, str], Awaitable[None]]  # (recipient id, text)


class LateReplies:
    def __init__(
        self, *, channel: str, send: Send | None, stats: ChannelStats, max_claims: int = 10_000
    ) -> None:
        self._channel = channel
        self._send = send
        self._stats = stats
        self._max_claims = max_claims
        self._claims: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def claimed(self, key: str) -> bool:
        return key in self._claims

    def claim(self, key: str, recipient: str, outcome: asyncio.Future[Outcome]) -> None:
        """Send ``outcome``'s reply to ``recipient`` once it is ready (first claim only)."""
        if key in self._claims:
            return
        self._claims[key] = None
        if len(self._claims) > self._max_claims:
            self._claims.popitem(last=False)
        task = asyncio.ensure_future(self._deliver(recipient, outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every late reply under way (at shutdown; tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver(self, recipient: str, outcome_future: asyncio.Future[Outcome]) -> None:
        try:
            outcome = await asyncio.shield(outcome_future)
        except Exception:
            # The message is stored; the pipeline logged why handling failed and a restart
            # handles it again. There is no reply to send now.
            self._stats.late_reply(self._channel, "not_handled")
            return
        if outcome.reply is None:
            self._stats.late_reply(self._channel, "no_reply")
            return
        if self._send is None:
            self._stats.late_reply(self._channel, "no_api")
            log.warning(
                "%s: reply of message #%s missed the deadline and no API secret is "
                "configured to send it",
                self._channel,
                outcome.message_id,
            )
            return
        try:
            await self._send(recipient, outcome.reply.text)
        except WeChatApiError as exc:
            if exc.errcode == ERRCODE_OUT_OF_SERVICE_WINDOW:
                # Outside the 48 h after her last message: WeChat refuses; retrying cannot help.
                self._stats.late_reply(self._channel, "out_of_window")
                log.warning(
                    "%s: late reply to message #%s refused: outside the 48 h window",
                    self._channel,
                    outcome.message_id,
                )
            else:
                self._stats.late_reply(self._channel, "failed")
                log.warning(
                    "%s: late reply to message #%s failed: %s",
                    self._channel,
                    outcome.message_id,
                    exc,
                )
            return
        except Exception as exc:
            self._stats.late_reply(self._channel, "failed")
            log.warning(
                "%s: late reply to message #%s failed: %s",
                self._channel,
                outcome.message_id,
                type(exc).__name__,
            )
            return
        self._stats.late_reply(self._channel, "sent")
        log.info(
            "%s: reply to message #%s sent late through the API", self._channel, outcome.message_id
        )
