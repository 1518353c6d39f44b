"""Follow-ups: check-ins after a crisis or distress, callbacks at the time a mother asks for.

Handlers only record them; the gateway's scheduler fires each one, exactly once, through
``claim`` (an atomic scheduled → firing step) and ``finish``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.turn import Action, Turn
from storage import queries
from storage.models import FollowUp, FollowUpKind, FollowUpStatus
from storage.records import FollowUpRecord


def check_in(after: str) -> Action:
    """A check-in some hours later; ``after`` is "crisis" or "distress" (the policy's delays)."""

    async def schedule_check_in(turn: Turn) -> None:
        hours = (
            turn.settings.crisis_check_in_hours
            if after == "crisis"
            else turn.settings.distress_check_in_hours
        )
        due = turn.now + timedelta(hours=hours)
        pending = await queries.pending_follow_up_of_kind(
            turn.session, turn.person.id, FollowUpKind.CHECK_IN
        )
        if pending is not None and pending.due_at <= due:
            return  # one check-in is already coming; don't pile them up
        await _add(turn, FollowUpKind.CHECK_IN, due)

    return schedule_check_in


async def callback_when_asked(turn: Turn) -> None:
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
    await _add(turn, FollowUpKind.CALLBACK, due)


async def _add(turn: Turn, kind: FollowUpKind, due: datetime) -> None:
    escalation = turn.effects.escalation
    follow_up = FollowUpRecord(
        person_id=turn.person.id,
        message_id=turn.message.id,
        escalation_id=escalation.id if escalation else None,
        channel=turn.message.channel,
        kind=kind,
        status=FollowUpStatus.SCHEDULED,
        due_at=due,
        created_at=turn.now,
    )
    await queries.insert_follow_up(turn.session, follow_up)
    turn.effects.follow_ups.append(follow_up)


async def claim(session, follow_up_id: int, now: datetime) -> FollowUp | None:  # type: ignore[no-untyped-def]
    """The follow-up, if this run is the one that fires it; None if it already fired."""
    if not await queries.claim_follow_up(session, follow_up_id, now):
        return None
    return await queries.get_follow_up(session, follow_up_id)


def finish(follow_up: FollowUp, *, delivered: bool, outcome: str) -> None:
    follow_up.status = FollowUpStatus.DONE if delivered else FollowUpStatus.FAILED
    follow_up.outcome = outcome
