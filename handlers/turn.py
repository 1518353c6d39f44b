"""What the policy sees of one message (``Turn``) and what it decides (``Decision``).

Everything here is plain data: the policy reads a snapshot of her case and returns actions; the
pipeline (``bot/``) writes them in one transaction. No handler runs a query or sends anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.settings import PolicySettings
from intents import ParseResult
from storage.models import Contact, Escalation, FollowUp, HotlineCall, Message, Person, Priority


@dataclass(frozen=True)
class Case:
    """Her case as it stood when this message was handled (read in the same transaction)."""

    person: Person
    message: Message
    open_escalation: Escalation | None = None
    # Her contacts on this message's channel still going on (ended within the contact gap).
    ongoing_contacts: tuple[Contact, ...] = ()
    next_check_in: FollowUp | None = None
    # Her earlier messages showing distress within ``policy.repeated_distress_days`` that no
    # escalation answered (counted only when this message shows distress too; else 0).
    recent_distress: int = 0
    # The hotline call this message was said in, and the contact it has so far: a call is one
    # contact, whatever its segments are about.
    call: HotlineCall | None = None
    call_contact: Contact | None = None


# --- actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyText:
    text: str
    # Crisis content, or the answer to a message that escalated: a channel must never show it
    # in a group conversation.
    sensitive: bool = False


@dataclass(frozen=True)
class OpenEscalation:
    priority: Priority
    reason: str
    risk_level: str
    sla_deadline: datetime
    # When the staff are first told (P2 waits for working hours); None: logged only (P3).
    notify_at: datetime | None = None
    # Why, when it is not this message alone (e.g. "repeated_distress"): for the audit log.
    cause: str | None = None


@dataclass(frozen=True)
class RaiseEscalation:
    """Her open escalation, now more urgent: the staff are told again."""

    escalation_id: int
    priority: Priority
    reason: str
    risk_level: str
    sla_deadline: datetime
    notify_at: datetime | None = None
    cause: str | None = None


@dataclass(frozen=True)
class JoinEscalation:
    """The message belongs to her open escalation; nothing changes for the staff."""

    escalation_id: int


EscalationAction = OpenEscalation | RaiseEscalation | JoinEscalation


def pages(action: EscalationAction | None) -> bool:
    """A new escalation or a raised priority that pages (P1 now, P2 in working hours)."""
    return isinstance(action, OpenEscalation | RaiseEscalation) and action.notify_at is not None


@dataclass(frozen=True)
class OpenContact:
    service_type: str
    intent: str
    summary: str


@dataclass(frozen=True)
class ContinueContact:
    contact_id: int
    intent: str
    summary: str
    message_count: int
    service_type: str | None = None  # None: unchanged


ContactAction = OpenContact | ContinueContact


@dataclass(frozen=True)
class ScheduleFollowUp:
    kind: str  # FollowUpKind
    due_at: datetime
    round: int = 1  # a check-in's place in its run (``handlers.followup.on_check_in_due``)


@dataclass
class Decision:
    """The actions for one message; at most one of each kind but follow-ups."""

    escalation: EscalationAction | None = None
    contact: ContactAction | None = None
    follow_ups: list[ScheduleFollowUp] = field(default_factory=list)
    reply: ReplyText | None = None

    @property
    def notifies_staff(self) -> bool:
        """A new escalation or a raised priority that pages (P1 now, P2 in working hours)."""
        return pages(self.escalation)


@dataclass
class Turn:
    """One inbound message being decided on."""

    case: Case
    parse: ParseResult
    now: datetime
    settings: PolicySettings
    zone: ZoneInfo
    decision: Decision = field(default_factory=Decision)


Step = Callable[[Turn], None]
