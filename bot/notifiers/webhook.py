"""A generic staff webhook: the notice as JSON, signed with HMAC-SHA256.

Signed exactly like Careline's inbound webhooks (``X-Careline-Timestamp``, ``X-Careline-Nonce``,
``X-Careline-Signature`` = hex HMAC-SHA256 of ``"{timestamp}\\n{nonce}\\n" + body`` with
CARELINE_STAFF_WEBHOOK_SECRET), so a receiver can check it with
``bot.channels.signed_webhook.SignedWebhook`` or ten lines of its own. Her messages are left out
unless ``include_messages`` is set: a generic receiver may store what it gets anywhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.notifiers.base import DeliveryResult
from bot.notifiers.http import post_signed
from bot.notifiers.notice import StaffNotice
from bot.roster.config import SocialWorker

__all__ = ["WebhookSender", "notice_payload"]


def notice_payload(
    notice: StaffNotice, person: SocialWorker, *, include_messages: bool
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "notice_id": notice.notice_id,
        "kind": notice.kind.value,
        "priority": notice.priority.value,
        "escalation_id": notice.escalation_id,
        "pseudonym": notice.pseudonym,
        "channel": notice.channel,
        "line": notice.line,
        "risk_level": notice.risk_level,
        "reasons": list(notice.reasons),
        "intent": notice.intent,
        "in_progress": notice.in_progress,
        "taken_by": notice.taken_by,
        "due_at": _iso(notice.due_at),
        "gap_start": _iso(notice.gap_start),
        "gap_end": _iso(notice.gap_end),
        "ack_url": notice.ack_url,
        "recipient": {"id": person.id, "name": person.name},
    }
    if include_messages:
        payload["recent_messages"] = [
            {"sent_at": _iso(m.sent_at), "text": m.text} for m in notice.recent_messages
        ]
    return payload


class WebhookSender:
    name = "webhook"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        *,
        include_messages: bool = False,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        self._session = session
        self._url = url
        self._secret = secret
        self._include_messages = include_messages
        self._timeout = timeout
        self._clock = clock

    async def send(self, notice: StaffNotice, person: SocialWorker) -> DeliveryResult:
        payload = notice_payload(notice, person, include_messages=self._include_messages)
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return await post_signed(
            self.name,
            self._session,
            self._url,
            raw,
            secret=self._secret,
            clock=self._clock,
            timeout_seconds=self._timeout,
        )


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()
