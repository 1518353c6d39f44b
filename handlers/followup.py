"""Follow-ups: check-ins after a crisis or distress, callbacks at the time a mother asks for.

Handlers only decide them; ``bot/`` records each one and fires it exactly once. A check-in
goes to her on her channel when it can reach her, else to a worker. One she leaves unanswered is
followed by another (``check_in_retry_hours`` later, inside the check-in window); after
``unanswered_check_ins`` unanswered ones a P2 "lost contact" escalation asks a person to look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.escalation import escalate
from handlers.settings import PolicySettings
from handlers.texts import LOST_CONTACT_REASON, check_in_text
from handlers.turn import EscalationAction, ScheduleFollowUp, Step, Turn
from intents import RiskLevel
from storage.models import Escalation, FollowUp, FollowUpKind, Priority


def check_in(after: str) -> Step:
    """A check-in some hours later; ``after`` is "crisis" or "distress" (the policy's delays)."""

    def schedule_check_in(turn: Turn) -> None:
        hours = (
            turn.settings.crisis_check_in_hours
            if after == "crisis"
            else turn.settings.distress_check_in_hours
        )
        due = within_check_in_window(turn.now + timedelta(hours=hours), turn.settings, turn.zone)
        pending = turn.case.next_check_in
        if pending is not None and pending.due_at <= due:
            return  # one check-in is already coming; don't pile them up
        turn.decision.follow_ups.append(ScheduleFollowUp(FollowUpKind.CHECK_IN, due))

    return schedule_check_in


def within_check_in_window(due: datetime, settings: PolicySettings, zone: ZoneInfo) -> datetime:
    """``due``, or the next start of the check-in window if it falls outside it (local time)."""
    local = due.astimezone(zone)
    opens, closes = settings.check_in_from, settings.check_in_until
    if opens <= local.time() < closes:
        return due
    day = local.date() if local.time() < opens else local.date() + timedelta(days=1)
    return datetime.combine(day, opens, tzinfo=zone)


def callback_when_asked(turn: Turn) -> None:
    """A callback at the time she named (明天下午三点), if she named one in the future."""
    entity = turn.parse.entity("time")
    if entity is None:
        return
    try:
        due = datetime.fromisoformat(str(entity.value))
    except ValueError:
        return
    if due.tzinfo is None:
        due = due.replace(tzinfo=turn.zone)
    if due <= turn.now:
        return
    turn.decision.follow_ups.append(ScheduleFollowUp(FollowUpKind.CALLBACK, due))


# --- a check-in falls due ------------------------------------------------------------------


@dataclass(frozen=True)
class CheckInDue:
    """What a due check-in knows of her when it fires (read by ``bot/``)."""

    follow_up: FollowUp
    # She wrote after the previous check-in of this run reached her.
    answered: bool
    # Her channel can write to her now (it has a sender, and she is inside its reply window).
    reachable: bool
    open_escalation: Escalation | None


@dataclass(frozen=True)
class SendCheckIn:
    """Ask her on her channel; once it went out, the next round waits for her answer."""

    text: str


@dataclass(frozen=True)
class AskWorker:
    """Her channel cannot reach her: a worker checks in on her instead (the run ends)."""


@dataclass(frozen=True)
class RunEnds:
    """She answered: nothing more to ask."""


@dataclass(frozen=True)
class LostContact:
    """Every check-in of the run went unanswered: a person looks (P2)."""

    escalation: EscalationAction


CheckInStep = SendCheckIn | AskWorker | RunEnds | LostContact


def on_check_in_due(
    due: CheckInDue, now: datetime, settings: PolicySettings, zone: ZoneInfo
) -> CheckInStep:
    round_ = due.follow_up.round
    if round_ > 1 and due.answered:
        return RunEnds()
    if round_ > settings.unanswered_check_ins:
        reason = LOST_CONTACT_REASON.format(count=settings.unanswered_check_ins)
        return LostContact(
            escalate(
                due.open_escalation,
                Priority.P2,
                reason,
                RiskLevel.MEDIUM.value,
                now,
                settings,
                zone,
                cause="lost_contact",
            )
        )
    if due.reachable:
        return SendCheckIn(check_in_text(round_, programme_hotline=settings.programme_hotline))
    return AskWorker()


def next_round(
    follow_up: FollowUp, sent_at: datetime, settings: PolicySettings, zone: ZoneInfo
) -> ScheduleFollowUp:
    """The check-in that follows one she got, if she leaves it unanswered."""
    due = within_check_in_window(
        sent_at + timedelta(hours=settings.check_in_retry_hours), settings, zone
    )
    return ScheduleFollowUp(FollowUpKind.CHECK_IN, due, round=follow_up.round + 1)
