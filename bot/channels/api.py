"""``POST /api/v1/messages``: one message through the pipeline, for integrations and tests.

Authenticated with ``Authorization: Bearer $CARELINE_API_TOKEN``. The answer comes only after
the message is stored; anything refused is refused before storing, with a clear reason.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.channels.fields import ExternalId
from bot.channels.json_body import BadJson, read_json
from bot.gateway import Gateway
from bot.message import (
    MAX_TEXT_CHARS,
    BadText,
    IdentityKind,
    InboundMessage,
    check_sent_at,
    clean_text,
)
from bot.secrets import Secrets

log = logging.getLogger("careline.api")

PATH = "/api/v1/messages"


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender: ExternalId
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS * 2)
    message_id: ExternalId | None = None
    sent_at: AwareDatetime | None = None
    channel: Literal["api", "terminal"] = "api"

    @field_validator("sent_at")
    @classmethod
    def _sent_at(cls, value: datetime | None) -> datetime | None:
        return None if value is None else check_sent_at(value)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class ApiEndpoint:
    def __init__(self, *, gateway: Gateway, token: str) -> None:
        self.gateway = gateway
        self.token = token

    def route(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.receive)

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if not self.token or scheme.lower() != "bearer" or not given:
            return False
        return hmac.compare_digest(given.strip().encode(), self.token.encode())

    async def receive(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return error(401, "missing or invalid bearer token")
        try:
            body = read_json(await request.read())
        except web.HTTPRequestEntityTooLarge:
            return error(413, "body too large")
        except BadJson as exc:
            return error(400, str(exc))
        try:
            data = MessageIn.model_validate(body)
            text = clean_text(data.text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return error(400, f"{where}: {first['msg']}")
        except BadText as exc:
            return error(400, f"text: {exc}")
        inbound = InboundMessage(
            channel=data.channel,
            sender_id=data.sender,
            sender_kind=IdentityKind.API if data.channel == "api" else IdentityKind.TERMINAL,
            text=text,
            sent_at=data.sent_at or self.gateway.clock.now(),
            external_id=data.message_id,
        )
        pending = await self.gateway.submit(inbound)  # stored once this returns
        try:
            outcome = await pending
        except Exception as exc:
            # Stored, but handling failed (the database went away mid-way, say). A 503 would
            # say nothing was kept; her message is handled once its lease runs out.
            log.error("api: stored message not handled yet: %s", type(exc).__name__)
            return web.json_response({"stored": True, "status": "processing"}, status=202)
        return web.json_response(outcome.to_dict(), dumps=_dumps)


def build(gateway: Gateway, secrets: Secrets) -> ApiEndpoint:
    return ApiEndpoint(gateway=gateway, token=secrets.api_token)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default)


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
