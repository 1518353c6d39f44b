"""What a staff member does to an escalation from the dashboard (the page and the JSON API
alike): take it, or resolve it, each with an optional note written in the same transaction.

A move that may not happen (somebody was quicker, it is closed, it is not hers) raises
``Refused`` with the sentence the worker reads, and changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import escalations
from bot.message import without_invisible
from bot.services import Services
from bot.web import texts
from bot.web.access import StaffMember
from bot.web.ack_view import local_time
from bot.web.queue_view import is_own
from storage import queries
from storage.models import Escalation, EscalationStatus

log = logging.getLogger("careline.web.queue")

NOTE_MAX_CHARS = 2000


class Refused(Exception):
    """A move that did not happen: ``message`` for the worker, ``status`` for HTTP (404 not
    found, 409 the escalation's state does not allow it, 400 a bad form)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def clean_note(raw: object) -> str:
    note = without_invisible(raw).strip() if isinstance(raw, str) else ""
    if len(note) > NOTE_MAX_CHARS:
        raise Refused(texts.NOTE_TOO_LONG.format(n=NOTE_MAX_CHARS), 400)
    return note


async def take(services: Services, staff: StaffMember, escalation_id: int, note: str) -> Escalation:
    """我来处理: hers now; the paging stops and everyone paged before is told it is taken."""
    now = services.clock.now()

    async def with_the_note(session: AsyncSession, escalation: Escalation, _told: int) -> None:
        await _note(session, staff, escalation, note, "acknowledged", now)

    try:
        escalation = await escalations.take(
            services.db,
            escalation_id,
            by=staff.username,
            at=now,
            staff_id=staff.id,
            also=with_the_note,
        )
    except escalations.NotAllowed:
        raise await _why_not(services, staff, escalation_id, "take") from None
    services.outbox.wake()  # the "taken" notices go now, not at the next sweep
    log.info("escalation #%s taken by %s on the dashboard", escalation_id, staff.username)
    return escalation


async def resolve(
    services: Services, staff: StaffMember, escalation_id: int, note: str
) -> Escalation:
    """结案, by whoever took it or a supervisor. Checked inside the transaction: it may have
    changed hands since the page was drawn."""
    now = services.clock.now()

    async def if_hers(session: AsyncSession, escalation: Escalation) -> None:
        if not (staff.is_supervisor or is_own(staff, escalation)):
            raise _NotHers()  # rolls the move back
        await _note(session, staff, escalation, note, "resolved", now)

    try:
        escalation = await escalations.resolve(
            services.db,
            escalation_id,
            by=staff.username,
            at=now,
            staff_id=staff.id,
            also=if_hers,
        )
    except (escalations.NotAllowed, _NotHers):
        raise await _why_not(services, staff, escalation_id, "resolve") from None
    log.info("escalation #%s resolved by %s on the dashboard", escalation_id, staff.username)
    return escalation


class _NotHers(Exception):
    pass


async def _note(
    session: AsyncSession,
    staff: StaffMember,
    escalation: Escalation,
    note: str,
    kind: str,
    at: datetime,
) -> None:
    if note:
        await queries.add_note(
            session,
            person_id=escalation.person_id,
            escalation_id=escalation.id,
            text=note,
            author=staff.username,
            author_id=staff.id,
            kind=kind,
            at=at,
        )


async def _load(services: Services, escalation_id: int) -> Escalation | None:
    async with services.db.session() as session:
        return await queries.get_escalation(session, escalation_id)


async def _why_not(
    services: Services, staff: StaffMember, escalation_id: int, move: str
) -> Refused:
    """The sentence for a refused move, from the escalation as it is now. The refusal is kept
    in the audit log, as the acknowledgement page keeps a refused tap."""
    refused, reason = _refusal(services, staff, escalation_id, await _load(services, escalation_id))
    async with services.db.write() as session:
        await queries.audit(
            session,
            actor=staff.username,
            action="escalation.refused",
            object_type="escalation",
            object_id=escalation_id,
            at=services.clock.now(),
            detail={"move": move, "reason": reason},
        )
    return refused


def _refusal(
    services: Services, staff: StaffMember, escalation_id: int, escalation: Escalation | None
) -> tuple[Refused, str]:
    zone = services.config.zone
    if escalation is None:
        return Refused(texts.REFUSED_NOT_FOUND.format(id=escalation_id), 404), "not_found"
    if escalation.status == EscalationStatus.RESOLVED:
        when = local_time(escalation.resolved_at or escalation.updated_at, zone)
        return Refused(texts.REFUSED_RESOLVED.format(id=escalation_id, when=when), 409), "resolved"
    if escalation.status == EscalationStatus.ACKNOWLEDGED:
        when = local_time(escalation.acknowledged_at or escalation.updated_at, zone)
        own = is_own(staff, escalation)
        name = texts.YOU if own else worker_name(services, escalation.taken_by)
        message = texts.REFUSED_TAKEN.format(id=escalation_id, name=name, when=when)
        return Refused(message, 409), "taken"
    # Untaken, and she asked to close it: take it first.
    return Refused(texts.REFUSED_NOT_TAKEN.format(id=escalation_id), 409), "not_taken"


def worker_name(services: Services, worker_id: str | None) -> str:
    if not worker_id:
        return texts.TAKEN_SOMEONE
    try:
        return services.config.roster.worker(worker_id).name
    except KeyError:
        return worker_id
