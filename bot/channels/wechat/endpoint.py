"""One WeChat callback endpoint on aiohttp (Official Account or WeCom app).

POST: read (413 over ``service.max_body_bytes``) → verify, replay-check (against the requests
let in before, in the database), decrypt, parse (403 / 400, no message stored) → normalise →
**store** (``pipeline.submit``) → wait for the outcome until the deadline → answer the passive
reply, sealed like the request. A reply not ready by
the deadline is claimed by :class:`LateReplies` and goes out through the API; the request
answers the no-reply body at once, so WeChat never times out and retries.

Rejections are counted in :class:`ChannelStats` and logged once, without content.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.channels.stats import ChannelStats
from bot.channels.wechat.callback import CallbackRejected, CallbackVerifier
from bot.channels.wechat.callback import InboundMessage as Callback
from bot.channels.wechat.inbound import Direct, Envelope, read_message
from bot.channels.wechat.late import LateReplies
from bot.channels.wechat.xml import build_text_reply
from bot.gateway import Gateway
from bot.message import IdentityKind

log = logging.getLogger("careline.channels.wechat")

XML = "application/xml"


class CallbackEndpoint:
    def __init__(
        self,
        *,
        channel: str,
        sender_kind: IdentityKind,
        verifier: CallbackVerifier,
        gateway: Gateway,
        hotline: str,
        stats: ChannelStats,
        late: LateReplies,
        deadline_seconds: float,
        no_reply_body: str,
    ) -> None:
        self.channel = channel
        self.sender_kind = sender_kind
        self.verifier = verifier
        self.gateway = gateway
        self.stats = stats
        self.late = late
        self.deadline = deadline_seconds
        self.no_reply_body = no_reply_body
        self.hotline = hotline

    def route(self, app: web.Application, path: str) -> None:
        app.router.add_get(path, self.verify_url)
        app.router.add_post(path, self.receive)

    # -- GET: URL verification --------------------------------------------------------------

    async def verify_url(self, request: web.Request) -> web.Response:
        try:
            echo = self.verifier.verify_url(request.query)
        except CallbackRejected as exc:
            return self._rejected(exc.status, exc.reason)
        return web.Response(text=echo, content_type="text/plain")

    # -- POST: messages and events ----------------------------------------------------------

    async def receive(self, request: web.Request) -> web.Response:
        started = asyncio.get_running_loop().time()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._rejected(413, "too_large")
        try:
            callback = await self.verifier.open(request.query, body)
            envelope, message = read_message(
                callback.fields,
                channel=self.channel,
                sender_kind=self.sender_kind,
                hotline=self.hotline,
                now=self.gateway.clock.now(),
            )
        except CallbackRejected as exc:
            return self._rejected(exc.status, exc.reason)
        if isinstance(message, Direct):
            log.debug("%s: %s answered by the channel", self.channel, message.kind)
            if message.record is not None:
                async with self._releasing_if_not_stored(callback):
                    await self.gateway.record(message.record)
            return self._answer(message.text, envelope, callback)
        async with self._releasing_if_not_stored(callback):
            outcome_future = await self.gateway.submit(message)
        key = message.external_id or ""
        if await self.late.claimed(key):
            return self._answer(None, envelope, callback)
        remaining = self.deadline - (asyncio.get_running_loop().time() - started)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(outcome_future), max(0.0, remaining))
        except TimeoutError:
            await self.late.claim(key, envelope.mother, outcome_future)
            return self._answer(None, envelope, callback)
        except Exception as exc:
            # Stored, but handling failed (the database went away mid-way, say): a 503 would
            # tell WeChat nothing was kept. Her message is handled once its lease runs out.
            log.error("%s: stored message not handled yet: %s", self.channel, type(exc).__name__)
            return self._answer(None, envelope, callback)
        # Another delivery ran out of time meanwhile, or one did before a restart.
        if await self.late.claimed(key, look_up=outcome.duplicate):
            return self._answer(None, envelope, callback)
        reply = outcome.reply.text if outcome.reply is not None else None
        return self._answer(reply, envelope, callback)

    @asynccontextmanager
    async def _releasing_if_not_stored(self, callback: Callback) -> AsyncIterator[None]:
        try:
            yield
        except BaseException:
            # Not stored: WeChat's retry (same timestamp and nonce) must not count as a replay.
            try:
                await self.verifier.release(callback)
            except Exception as exc:  # the database is away too: an identical retry gets in
                log.warning("%s: replay entry not released: %s", self.channel, type(exc).__name__)
            raise

    # -- answers ----------------------------------------------------------------------------

    def _answer(self, text: str | None, envelope: Envelope, callback: Callback) -> web.Response:
        if text is None:
            return web.Response(text=self.no_reply_body, content_type="text/plain")
        now = int(time.time())
        reply = build_text_reply(
            to_user=envelope.mother, from_user=envelope.account, content=text, create_time=now
        )
        sealed = self.verifier.seal(reply, callback, timestamp=str(now))
        return web.Response(text=sealed, content_type=XML)

    def _rejected(self, status: int, reason: str) -> web.Response:
        self.stats.reject(self.channel, reason)
        return web.Response(status=status)
