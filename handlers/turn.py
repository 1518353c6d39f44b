"""What a handler sees (one turn of a conversation) and what it leaves behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.settings import PolicySettings
from intents import ParseResult
from storage.direct import Tx
from storage.records import (
    ContactRecord,
    EscalationRecord,
    FollowUpRecord,
    MessageRecord,
    PersonRecord,
)


@dataclass(frozen=True)
class ReplyText:
    text: str
    # Crisis content, or the answer to a message that escalated: a channel must never show it
    # in a group conversation.
    sensitive: bool = False


@dataclass
class Effects:
    reply: ReplyText | None = None
    contact: ContactRecord | None = None
    escalation: EscalationRecord | None = None
    # True when the worker needs (re)notifying: a new escalation or a raised priority.
    escalation_needs_notice: bool = False
    follow_ups: list[FollowUpRecord] = field(default_factory=list)


@dataclass
class Turn:
    """One inbound message being handled, inside the transaction that records its results."""

    session: Tx  # the transaction that records the results
    person: PersonRecord
    message: MessageRecord
    parse: ParseResult
    now: datetime
    settings: PolicySettings
    zone: ZoneInfo
    effects: Effects = field(default_factory=Effects)


Action = Callable[[Turn], Awaitable[None]]
