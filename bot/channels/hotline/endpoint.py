"""The hotline transcript webhook at ``POST /hotline/transcripts``: a thin edge that checks
the signature and the body, then hands the call to ``calls.take_call`` (the path the batch
import takes too). The answer says what Careline made of the call, never what was said.
"""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import ValidationError

from bot.channels.hotline.calls import take_call
from bot.channels.hotline.her_words import IvrPrompts
from bot.channels.hotline.transcript import Transcript, where_wrong
from bot.channels.json_body import BadJson, read_json
from bot.channels.signed_webhook import TimestampedWebhook, WebhookRejected
from bot.channels.stats import ChannelStats
from bot.config import HotlineConfig
from bot.gateway import Gateway
from bot.message import CALL_CHANNEL
from bot.secrets import Secrets

log = logging.getLogger("careline.channels.hotline")

CHANNEL = CALL_CHANNEL
PATH = "/hotline/transcripts"


class HotlineEndpoint:
    def __init__(
        self,
        *,
        gateway: Gateway,
        webhook: TimestampedWebhook,
        prompts: IvrPrompts,
        stats: ChannelStats,
    ) -> None:
        self.gateway = gateway
        self.webhook = webhook
        self.prompts = prompts
        self.stats = stats

    def route(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._rejected(413, "too_large")
        try:
            self.webhook.verify(request.headers, body)
        except WebhookRejected as exc:
            return self._rejected(exc.status, exc.reason)
        try:
            transcript = Transcript.model_validate(read_json(body))
        except BadJson as exc:
            return self._rejected(400, exc.reason, str(exc))
        except ValidationError as exc:
            return self._rejected(400, "malformed_transcript", where_wrong(exc))
        taken = await take_call(self.gateway, transcript, self.prompts)
        answer = taken.answer
        log.info(
            "hotline: call %s (%s): %d new segments, risk %s, escalated %s",
            transcript.call_id,
            transcript.status,
            answer["new_segments"],
            answer["risk_level"],
            answer["escalated"],
        )
        if taken.unhandled:
            extra = {"stored": True, "unhandled": taken.unhandled}
            return web.json_response(answer | extra, status=202)
        return web.json_response(answer)

    def _rejected(self, status: int, reason: str, problem: str | None = None) -> web.Response:
        self.stats.reject(CHANNEL, reason)
        if problem is None:
            return web.Response(status=status)
        return web.json_response({"error": problem}, status=status)


def build(
    gateway: Gateway, config: HotlineConfig, secrets: Secrets, stats: ChannelStats
) -> HotlineEndpoint:
    # The window is measured on the service's clock (a test's fixed clock included).
    webhook = TimestampedWebhook(
        secrets.require("hotline_hmac_secret"), clock=lambda: gateway.clock.now().timestamp()
    )
    return HotlineEndpoint(
        gateway=gateway, webhook=webhook, prompts=IvrPrompts(config.ivr_prompts), stats=stats
    )
