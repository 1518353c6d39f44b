"""What a staff member writes into a mother's case from its page: a note, or a callback.

A callback is a follow-up like the one the pipeline schedules when she asks to be called
(``bot.case_rows.schedule_follow_up``): a row now, its outbox row firing it when due, to the
worker who holds her case (else whoever is on duty).
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.case_rows import schedule_follow_up
from bot.services import Services
from bot.web import texts
from bot.web.access import StaffMember
from bot.web.queue_actions import Refused, clean_note
from handlers.turn import ScheduleFollowUp
from storage import queries
from storage.models import FollowUp, FollowUpKind

log = logging.getLogger("careline.web.case")

__all__ = ["Refused", "add_note", "parse_local_time", "schedule_callback"]


async def add_note(services: Services, staff: StaffMember, person_id: int, raw: object) -> None:
    text = clean_note(raw)
    if not text:
        raise Refused(texts.NOTE_EMPTY, 400)
    now = services.clock.now()
    async with services.db.write() as session:
        if await queries.get_person(session, person_id) is None:
            raise Refused(texts.CASE_NOT_FOUND, 404)
        escalation = await queries.unresolved_escalation(session, person_id)
        note = await queries.add_note(
            session,
            person_id=person_id,
            escalation_id=escalation.id if escalation is not None else None,
            text=text,
            author=staff.username,
            author_id=staff.id,
            at=now,
        )
        await queries.audit(
            session,
            actor=staff.username,
            action="case.note",
            object_type="person",
            object_id=person_id,
            at=now,
            detail={"note_id": note.id},
        )


def parse_local_time(raw: object, zone: ZoneInfo) -> datetime:
    """An ``<input type="datetime-local">`` value (``2026-03-08T14:30``), in the service's
    time zone, as an aware UTC moment."""
    if not isinstance(raw, str):
        raise Refused(texts.CALLBACK_BAD_TIME, 400)
    try:
        local = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Refused(texts.CALLBACK_BAD_TIME, 400) from None
    if local.tzinfo is not None:
        raise Refused(texts.CALLBACK_BAD_TIME, 400)
    try:
        return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
    except OverflowError:  # 0001-01-01T00:00 east of UTC is before year 1
        raise Refused(texts.CALLBACK_BAD_TIME, 400) from None


async def schedule_callback(
    services: Services, staff: StaffMember, person_id: int, raw_due: object
) -> FollowUp:
    due_at = parse_local_time(raw_due, services.config.zone)
    now = services.clock.now()
    if due_at <= now:
        raise Refused(texts.CALLBACK_IN_PAST, 400)
    async with services.db.write() as session:
        if await queries.get_person(session, person_id) is None:
            raise Refused(texts.CASE_NOT_FOUND, 404)
        channel = await queries.latest_channel(session, person_id)
        if channel is None:
            raise Refused(texts.CALLBACK_NO_CHANNEL, 409)
        escalation = await queries.unresolved_escalation(session, person_id)
        follow_up = await schedule_follow_up(
            session,
            ScheduleFollowUp(kind=FollowUpKind.CALLBACK, due_at=due_at),
            person_id=person_id,
            message_id=None,
            escalation_id=escalation.id if escalation is not None else None,
            channel=channel,
            now=now,
        )
        await queries.audit(
            session,
            actor=staff.username,
            action="follow_up.scheduled",
            object_type="person",
            object_id=person_id,
            at=now,
            detail={"follow_up_id": follow_up.id, "kind": FollowUpKind.CALLBACK.value},
        )
    services.outbox.wake()
    log.info("callback #%s scheduled by %s", follow_up.id, staff.username)
    return follow_up
