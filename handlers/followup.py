"""Follow-ups: check-ins after a crisis or distress, callbacks at the time a mother asks for.

Handlers only decide them; the gateway records each one and fires it exactly once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.turn import ScheduleFollowUp, Step, Turn
from storage.models import FollowUpKind


def check_in(after: str) -> Step:
    """A check-in some hours later; ``after`` is "crisis" or "distress" (the policy's delays)."""

    def schedule_check_in(turn: Turn) -> None:
        hours = (
            turn.settings.crisis_check_in_hours
            if after == "crisis"
            else turn.settings.distress_check_in_hours
        )
        due = within_check_in_hours(turn.now + timedelta(hours=hours), turn)
        pending = turn.case.next_check_in
        if pending is not None and pending.due_at <= due:
            return  # one check-in is already coming; don't pile them up
        turn.decision.follow_ups.append(ScheduleFollowUp(FollowUpKind.CHECK_IN, due))

    return schedule_check_in


def within_check_in_hours(due: datetime, turn: Turn) -> datetime:
    """``due``, or the next start of the check-in window if it falls outside it (local time)."""
    local = due.astimezone(turn.zone)
    opens, closes = turn.settings.check_in_from, turn.settings.check_in_until
    if opens <= local.time() < closes:
        return due
    day = local.date() if local.time() < opens else local.date() + timedelta(days=1)
    return datetime.combine(day, opens, tzinfo=turn.zone)


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
