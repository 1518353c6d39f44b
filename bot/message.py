"""The one inbound-message type every channel normalises into, and what handling returns."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from handlers import ReplyText
from intents import ParseResult

# The longest text kept: stored whole and read whole by the crisis layer (the classifier reads
# the first 4,000 characters). A channel refuses a longer one with a clear error, or, when the
# sender cannot be asked again (WeChat), keeps its beginning.
MAX_TEXT_CHARS = 8000

# A send time outside 2001-09-09 – 2100-01-01 (Unix seconds) is not a real one: a channel
# stores the message as received instead, or refuses it when it can tell the sender why.
EARLIEST_SENT_AT, LATEST_SENT_AT = 1_000_000_000, 4_102_444_800


# The channel whose messages are segments of phone calls (``InboundMessage.call``).
CALL_CHANNEL = "hotline"


class IdentityKind(StrEnum):
    """How a channel knows her: the kind of ``InboundMessage.sender_id`` (stored, encrypted,
    with her identity)."""

    WECHAT_OPENID = "wechat_openid"
    WECOM_USERID = "wecom_userid"
    GROUP_MEMBER = "group_member"
    PHONE = "phone"
    # A hotline caller who withheld her number: known for that one call (its id) only.
    WITHHELD_CALLER = "withheld_caller"
    API = "api"
    TERMINAL = "terminal"


@dataclass(frozen=True)
class SpokenSegment:
    """Where in a call a message was said (the call system's segment), and how sure its speech
    recognition was."""

    position: int  # its place in the call's transcript, from 0
    speaker: str  # the label the call system gave it: caller, agent or ivr
    start_seconds: float
    end_seconds: float
    confidence: float | None


@dataclass(frozen=True)
class PhoneCall:
    """The hotline call a message belongs to, as the latest transcript of it says."""

    call_id: str
    line: str
    started_at: datetime
    ended_at: datetime | None
    agent_id: str | None  # who answered; None while nobody has
    final: bool  # the call is over and this is its whole transcript
    segment: SpokenSegment | None = None  # None: the call's own record (at its end)


@dataclass(frozen=True)
class InboundMessage:
    """A message from a mother, whatever the channel (WeChat, care group, hotline, API...)."""

    channel: str  # "api", "terminal", "wechat_mp", "wecom", "care_group", "hotline"
    sender_id: str  # the channel's id for her: openid, group member id, phone...
    sender_kind: IdentityKind
    text: str
    sent_at: datetime
    # The channel's own message id; (channel, external_id) de-duplicates retries.
    external_id: str | None = None
    content_type: str = "text"  # text, voice, image, event
    conversation_id: str | None = None  # the group, for group chats
    # False for group chatter not addressed to Careline (no @, no request for help): only the
    # crisis layer may act on it, and nothing is said in the group.
    addressed: bool = True
    # A hotline segment: its call (one contact per call) and its place in it.
    call: PhoneCall | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Together:
    """What one sender said together, handled in one transaction: ``messages`` (a call's new
    segments) classified in order, each with the ones before it as history, stored and
    decided together; and ``record``, kept in her thread with them (the call's end: nothing to
    classify). Either may be absent."""

    messages: tuple[InboundMessage, ...] = ()
    record: InboundMessage | None = None

    @property
    def first(self) -> InboundMessage:
        return self.messages[0] if self.messages else self.record  # type: ignore[return-value]


@dataclass(frozen=True)
class Taken:
    """What became of a ``Together``: one future per message, in their order, and whether its
    record was stored now (False: stored before, or none)."""

    outcomes: list[asyncio.Future[Outcome]]
    recorded: bool


class PartlyTaken(Exception):
    """A batch goes in parts (a sender met again starts a part of her own); the first ones
    were stored and a later one could not be: ``taken`` answers the batch's first
    ``len(taken)`` groups, the rest were not stored (``__cause__`` says why)."""

    def __init__(self, taken: list[Taken]) -> None:
        super().__init__(f"the first {len(taken)} groups were stored, the next could not be")
        self.taken = taken


@dataclass(frozen=True)
class Outcome:
    """What handling one message did; the same object again for a retried delivery."""

    message_id: int
    person: str  # pseudonym
    duplicate: bool
    reply: ReplyText | None
    classification: ParseResult | None
    contact: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None
    follow_ups: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "person": self.person,
            "duplicate": self.duplicate,
            "reply": (
                {"text": self.reply.text, "sensitive": self.reply.sensitive} if self.reply else None
            ),
            "classification": self.classification.to_dict() if self.classification else None,
            "contact": self.contact,
            "escalation": self.escalation,
            "follow_ups": list(self.follow_ups),
        }


def sent_at_from_unix(seconds: int | float) -> datetime | None:
    """Unix seconds as a send time; None when not finite or outside the years above."""
    if not EARLIEST_SENT_AT <= seconds <= LATEST_SENT_AT:  # NaN compares False: None too
        return None
    return datetime.fromtimestamp(seconds, UTC)


def check_sent_at(value: datetime) -> datetime:
    """A send time given as a date, unchanged; ``ValueError`` if it is not a real one.

    "0001-01-01T00:00:00+14:00" is a valid ISO date whose UTC instant lies before year 1: it
    cannot be converted to UTC, let alone stored. ``timestamp()`` of an aware date never
    overflows (it subtracts offsets), so the bounds are checked on it.
    """
    if not EARLIEST_SENT_AT <= value.timestamp() <= LATEST_SENT_AT:
        raise ValueError("send time must be between 2001-09-09 and 2100-01-01")
    return value


class BadText(ValueError):
    """Text a channel must refuse (the message is a clear reason)."""


_DROP = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\t")
_DROP.update(dict.fromkeys([0x7F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds one: no id, name or filter does, and PostgreSQL stores and
    compares no NUL (such a value would be a database error on every retry)."""
    return _CONTROL.search(text) is not None


def without_invisible(text: str) -> str:
    """``text`` without control characters (line breaks and tabs kept) and zero-width ones:
    nothing a reader sees is lost, and PostgreSQL stores no NUL."""
    return text.translate(_DROP)


def clean_text(text: str, *, truncate: bool = False) -> str:
    """Text as stored: control and zero-width characters removed, trimmed.

    Lone surrogates (from a JSON "\\ud800") cannot be stored in UTF-8: refuse them rather than
    lose the message later in the database. Text over ``MAX_TEXT_CHARS`` is refused, or cut to
    that length with ``truncate``.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadText("text contains invalid Unicode (a lone surrogate)") from None
    text = without_invisible(text).strip()
    if not text:
        raise BadText("text is empty")
    if len(text) > MAX_TEXT_CHARS:
        if truncate:
            return text[:MAX_TEXT_CHARS].rstrip()
        raise BadText(f"text is longer than {MAX_TEXT_CHARS} characters")
    return text
