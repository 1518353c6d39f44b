"""What a verified WeChat / WeCom callback message means for Careline.

A mother's words (text, or a voice message WeChat transcribed) become a gateway
:class:`~bot.message.InboundMessage`; everything else gets a direct answer from the channel
(a welcome, a kind request for text, or nothing). A picture, a location or a voice message
WeChat could not transcribe is still recorded in her thread (``Direct.record``, no text, not
classified), so a social worker reading it later sees that she wrote.

Retries are keyed by ``MsgId`` (``FromUserName:CreateTime:MsgType`` if one ever lacks it; either
refused with a 400 over ``MAX_MSG_ID_CHARS``). Events
are not stored: a subscribe gets the same welcome on every retry, so there is nothing to
de-duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.channels import texts
from bot.channels.wechat.callback import BAD_REQUEST, CallbackRejected
from bot.channels.wechat.xml import XmlFields
from bot.message import BadText, IdentityKind, InboundMessage, clean_text, sent_at_from_unix

__all__ = ["Direct", "Envelope", "read_message"]

# WeChat's timestamps are seconds: ten digits until 2286. Longer is no real send time (and
# past 4,300 digits Python would refuse to read it as a number at all).
_CREATE_TIME_DIGITS = 12
_CONTENT_TYPE_LENGTH = 16  # Message.content_type
# Tencent documents MsgId as a 64-bit integer (20 digits); a longer one is kept up to this many
# characters (Message.external_id has room), and refused beyond: it could not de-duplicate.
MAX_MSG_ID_CHARS = 256


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who the passive reply goes to and from."""

    mother: str  # FromUserName: her OpenID / WeCom UserID
    account: str  # ToUserName: our account


@dataclass(frozen=True, slots=True)
class Direct:
    """Answered by the channel itself: ``text`` (None = no reply), after storing ``record``."""

    text: str | None
    kind: str  # for the debug log: "subscribe", "image", ...
    record: InboundMessage | None = None  # a message without words, kept in her thread


def read_message(
    fields: XmlFields,
    *,
    channel: str,
    sender_kind: IdentityKind,
    hotline: str,
    now: datetime,
) -> tuple[Envelope, InboundMessage | Direct]:
    mother, account = _field(fields, "FromUserName"), _field(fields, "ToUserName")
    msg_type = _field(fields, "MsgType").lower()
    envelope = Envelope(mother, account)
    create_time = _optional(fields, "CreateTime")
    if msg_type == "event":
        return envelope, _event(_optional(fields, "Event"), hotline)
    external_id = _optional(fields, "MsgId") or f"{mother}:{create_time}:{msg_type}"
    if len(external_id) > MAX_MSG_ID_CHARS:
        raise CallbackRejected(BAD_REQUEST, "long_msgid")

    def message(text: str, content_type: str) -> InboundMessage:
        return InboundMessage(
            channel=channel,
            sender_id=mother,
            sender_kind=sender_kind,
            text=text,
            sent_at=_sent_at(create_time) or now,
            external_id=external_id,
            content_type=content_type,
        )

    if msg_type == "text":
        raw = _optional(fields, "Content")
    elif msg_type == "voice":
        raw = _optional(fields, "Recognition")
        if not raw.strip():
            answer = texts.with_hotline(texts.VOICE_NOT_RECOGNISED, hotline)
            return envelope, Direct(answer, "voice", record=message("", "voice"))
    else:
        kind = (msg_type or "other")[:_CONTENT_TYPE_LENGTH]
        answer = texts.with_hotline(texts.NOT_TEXT, hotline)
        return envelope, Direct(answer, kind, record=message("", kind))
    try:
        # WeChat does not send a message again once answered: keep what she wrote (its beginning).
        text = clean_text(raw, truncate=True)
    except BadText:
        return envelope, Direct(texts.with_hotline(texts.TEXT_UNREADABLE, hotline), "bad_text")
    return envelope, message(text, msg_type)


def _event(event: str, hotline: str) -> Direct:
    event = event.lower()
    if event == "subscribe":
        return Direct(texts.with_hotline(texts.WELCOME, hotline), "subscribe")
    # unsubscribe, menu clicks, location reports, entering the app...: nothing to say.
    return Direct(None, event or "event")


def _field(fields: XmlFields, name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CallbackRejected(BAD_REQUEST, f"missing_{name.lower()}")
    return value.strip()


def _optional(fields: XmlFields, name: str) -> str:
    value = fields.get(name)
    return value.strip() if isinstance(value, str) else ""


def _sent_at(create_time: str) -> datetime | None:
    if not create_time.isascii() or not create_time.isdigit():
        return None
    if len(create_time) > _CREATE_TIME_DIGITS:
        return None
    return sent_at_from_unix(int(create_time))
