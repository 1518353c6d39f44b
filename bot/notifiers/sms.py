"""SMS through an HTTP gateway: "a P1 needs you" and the link, nothing else.

The gateway receives JSON ``{"to": phone, "text": text}`` signed like Careline's own webhooks
(``X-Careline-Timestamp``, ``-Nonce``, ``-Signature`` = hex HMAC-SHA256 over
``"{timestamp}\\n{nonce}\\n" + body`` with CARELINE_SMS_GATEWAY_SECRET; see
``bot/channels/signed_webhook.py``), plus ``X-Careline-Key-Id`` when one is configured. The text
comes from a template that may only use ``{priority}`` and ``{link}``: a mother's words, her
pseudonym or the reasons never reach a carrier.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping

import aiohttp

from bot.notifiers.base import DeliveryResult
from bot.notifiers.http import post_signed
from bot.notifiers.notice import StaffNotice
from bot.notifiers.render import render_sms
from bot.roster.config import SocialWorker

__all__ = ["KEY_ID_HEADER", "SmsGatewaySender"]

KEY_ID_HEADER = "X-Careline-Key-Id"


class SmsGatewaySender:
    name = "sms"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        *,
        key_id: str | None = None,
        templates: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("the SMS gateway secret must not be empty")
        self._session = session
        self._url = url
        self._secret = secret
        self._key_id = key_id
        self._templates = dict(templates or {})
        self._timeout = timeout
        self._clock = clock

    def text(self, notice: StaffNotice) -> str:
        return render_sms(notice, self._templates)

    async def send(self, notice: StaffNotice, person: SocialWorker) -> DeliveryResult:
        if not person.phone:
            return DeliveryResult.give_up(self.name, "no phone number")
        body = json.dumps({"to": person.phone, "text": self.text(notice)}, ensure_ascii=False)
        raw = body.encode("utf-8")
        key_id = {KEY_ID_HEADER: self._key_id} if self._key_id else None
        return await post_signed(
            self.name,
            self._session,
            self._url,
            raw,
            secret=self._secret,
            clock=self._clock,
            timeout_seconds=self._timeout,
            extra_headers=key_id,
        )
