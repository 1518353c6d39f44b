"""The care group (群聊) webhook at ``POST /channels/care-group``.

A bridge that sits in the care group forwards every member's message as signed JSON (see
``signed_webhook`` and the README); the answer tells it what, if anything, to say. Careline
speaks in the group only when @-mentioned or asked for help, but every mother's message goes
through the pipeline, so the crisis layer acts on chatter too. A crisis is never discussed in
the group: its reply goes privately to the mother (``private_reply``) and the group sees at most
a neutral line, only when she addressed Careline. Staff members' messages are acknowledged
and not stored as mothers' contacts.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.channels import texts
from bot.channels.fields import ExternalId
from bot.channels.json_body import BadJson, read_json
from bot.channels.signed_webhook import SignedWebhook, WebhookRejected
from bot.channels.stats import ChannelStats
from bot.channels.wechat.replay import AcceptedRequests
from bot.config import CareGroupConfig
from bot.gateway import Gateway
from bot.message import (
    EARLIEST_SENT_AT,
    LATEST_SENT_AT,
    MAX_TEXT_CHARS,
    BadText,
    IdentityKind,
    InboundMessage,
    Outcome,
    clean_text,
    sent_at_from_unix,
)
from bot.secrets import Secrets

log = logging.getLogger("careline.channels.care_group")

CHANNEL = "care_group"
PATH = "/channels/care-group"
_NAME_CHARS, _MENTIONS = 128, 100


class GroupMessage(BaseModel):
    """What the bridge posts. The required fields are checked strictly; the optional ones are
    taken as far as they make sense, never refused: a mother's words (perhaps a crisis) must
    not be lost to a bridge's odd send time or a long display name."""

    # Extra fields are ignored: a bridge that adds one must not lose mothers' messages.
    model_config = ConfigDict(extra="ignore", frozen=True)

    group_id: ExternalId
    sender_id: ExternalId
    sender_name: str = ""
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS * 2)
    mentions: list[str] = []
    message_id: ExternalId
    time: int | None = None  # Unix seconds, when sent

    @field_validator("sender_name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        return value[:_NAME_CHARS] if isinstance(value, str) else ""

    @field_validator("mentions", mode="before")
    @classmethod
    def _mentions(cls, value: Any) -> list[str]:
        if not isinstance(value, list):
            return []
        return [m[:_NAME_CHARS] for m in value if isinstance(m, str)][:_MENTIONS]

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> int | None:
        """Seconds, fractional seconds (``time.time()``) or milliseconds (``Date.now()``);
        anything else, or outside 2001–2099, is no send time (she is stored as received)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if isinstance(value, float) and not math.isfinite(value):  # JSON's NaN and Infinity
            return None
        # Floor division: an integer of hundreds of digits has no float to divide as.
        seconds = int(value // 1000 if value > LATEST_SENT_AT * 10 else value)
        return seconds if EARLIEST_SENT_AT <= seconds <= LATEST_SENT_AT else None


def is_addressed(message: GroupMessage, text: str, config: CareGroupConfig) -> bool:
    """@-mentioned (by member id or display name) or asking for help."""
    names = {config.bot_member_id, *config.bot_names}
    if any(mention in names for mention in message.mentions):
        return True
    if any(f"@{name}" in text for name in config.bot_names):
        return True
    return any(keyword in text for keyword in config.help_keywords)


def group_answer(outcome: Outcome | None, *, sender_id: str, addressed: bool) -> dict[str, Any]:
    """What the bridge says: in the group, and privately to the sender."""
    answer: dict[str, Any] = {"group_reply": None, "private_reply": None}
    if outcome is None or outcome.reply is None:
        return answer
    private = outcome.reply.sensitive or outcome.escalation is not None or not addressed
    if private:
        answer["private_reply"] = {"to": sender_id, "text": outcome.reply.text}
        # Only a mother who spoke to Careline gets a (neutral) word in the group.
        answer["group_reply"] = texts.GROUP_PRIVATE_NOTICE if addressed else None
    else:
        answer["group_reply"] = outcome.reply.text
    return answer


class CareGroupEndpoint:
    def __init__(
        self,
        *,
        gateway: Gateway,
        config: CareGroupConfig,
        webhook: SignedWebhook,
        stats: ChannelStats,
    ) -> None:
        self.config = config
        self.gateway = gateway
        self.webhook = webhook
        self.stats = stats
        self.staff = frozenset(self.config.staff_member_ids)
        self.groups = frozenset(self.config.group_ids)

    def route(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._rejected(413, "too_large")
        try:
            signed = await self.webhook.verify(request.headers, body)
        except WebhookRejected as exc:
            return self._rejected(exc.status, exc.reason)
        try:
            data = read_json(body)
        except BadJson as exc:
            return self._rejected(400, exc.reason)
        try:
            message = GroupMessage.model_validate(data)
            text = clean_text(message.text)
        except (ValidationError, BadText):
            return self._rejected(400, "malformed_json")
        if self.groups and message.group_id not in self.groups:
            return self._rejected(403, "unknown_group")
        if message.sender_id in self.staff:
            log.debug("care group: message from a staff member, not a mother's contact")
            return _json({"group_reply": None, "private_reply": None, "staff": True})
        addressed = is_addressed(message, text, self.config)
        inbound = InboundMessage(
            channel=CHANNEL,
            sender_id=message.sender_id,
            sender_kind=IdentityKind.GROUP_MEMBER,
            text=text,
            sent_at=_sent_at(message.time) or self.gateway.clock.now(),
            external_id=f"{message.group_id}:{message.message_id}",
            conversation_id=message.group_id,
            addressed=addressed,
        )
        try:
            outcome_future = await self.gateway.submit(inbound)
        except BaseException:
            try:
                await self.webhook.release(signed)  # not stored: the bridge's retry must get in
            except Exception as exc:  # the database is away too: an identical retry gets in
                log.warning("care group: replay entry not released: %s", type(exc).__name__)
            raise
        try:
            outcome = await outcome_future
        except Exception as exc:
            # Stored, but handling failed: say so without a 503 (which means nothing was kept)
            # and without a word in the group; her message is handled once its lease runs out.
            log.error("care group: stored message not handled yet: %s", type(exc).__name__)
            return web.json_response(
                {"group_reply": None, "private_reply": None, "stored": True}, status=202
            )
        answer = group_answer(outcome, sender_id=message.sender_id, addressed=addressed)
        answer["duplicate"] = outcome.duplicate
        return _json(answer)

    def _rejected(self, status: int, reason: str) -> web.Response:
        self.stats.reject(CHANNEL, reason)
        return web.Response(status=status)


def build(
    gateway: Gateway,
    accepted: AcceptedRequests,
    config: CareGroupConfig,
    secrets: Secrets,
    stats: ChannelStats,
) -> CareGroupEndpoint:
    webhook = SignedWebhook(secrets.require("group_hmac_secret"), accepted, channel=CHANNEL)
    return CareGroupEndpoint(gateway=gateway, config=config, webhook=webhook, stats=stats)


def _sent_at(seconds: int | None) -> datetime | None:
    return sent_at_from_unix(seconds) if seconds is not None else None


def _json(data: dict[str, Any]) -> web.Response:
    return web.json_response(data, dumps=lambda value: json.dumps(value, ensure_ascii=False))
