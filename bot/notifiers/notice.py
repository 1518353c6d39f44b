"""What a worker is told: one notice, rendered by each sender in its own way.

A notice never carries a mother's name or phone number: she is a pseudonym. Her last few
messages travel only to senders that render them (WeCom, e-mail); SMS never does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from storage.models import Priority

__all__ = ["MAX_QUOTED_MESSAGES", "NoticeKind", "QuotedMessage", "StaffNotice"]

MAX_QUOTED_MESSAGES = 5
# A pseudonym that looks like a phone number is a bug upstream: refuse it rather than send it.
_PHONE_LIKE = re.compile(r"\d{7,}")


class NoticeKind(StrEnum):
    NEW = "new"  # an escalation opened: the first level is told
    CLIMBED = "climbed"  # nobody acknowledged in time: the next level is told
    TAKEN = "taken"  # someone acknowledged: the others can stand down
    FOLLOW_UP = "follow_up"  # a callback or check-in is due for the worker who took the case
    ROSTER_GAP = "roster_gap"  # nobody is on duty: the supervisors are told


@dataclass(frozen=True, slots=True)
class QuotedMessage:
    sent_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class StaffNotice:
    kind: NoticeKind
    priority: Priority
    escalation_id: int | None = None
    pseudonym: str = ""
    channel: str = ""  # "wechat_mp", "wecom", "care_group", "hotline", "api", "terminal"
    risk_level: str = "none"  # intents.RiskLevel value
    reasons: tuple[str, ...] = ()
    recent_messages: tuple[QuotedMessage, ...] = ()
    ack_url: str | None = None
    # Optional context, each shown only when present.
    intent: str | None = None
    in_progress: str | None = None  # e.g. who has the case now, for follow_up / taken
    line: str | None = None  # hotline line or care group the message came through
    taken_by: str | None = None  # the worker's name, for kind=taken
    due_at: datetime | None = None  # SLA deadline, or when a follow-up is due
    gap_start: datetime | None = None  # for kind=roster_gap
    gap_end: datetime | None = None
    # The outbox row's key, so a receiver can drop a notice it already has.
    notice_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if _PHONE_LIKE.search(self.pseudonym):
            raise ValueError("a pseudonym must not contain a phone number")
        if len(self.recent_messages) > MAX_QUOTED_MESSAGES:
            kept = self.recent_messages[-MAX_QUOTED_MESSAGES:]
            object.__setattr__(self, "recent_messages", kept)
