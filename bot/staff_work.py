"""What the outbox's rows do: tell the staff of an escalation, climb it when its SLA passes,
fire a follow-up. Each re-reads its escalation or follow-up first, so running a row again (its
claim expired) or late (somebody took the case meanwhile) never pages anyone needlessly.

A notice goes to the people of the escalation's level on the duty roster, worked out for the
moment it opened (the chain is frozen then, as Grafana OnCall's escalation snapshot is): the
on-duty worker, then the backup, then every supervisor; in a roster gap, straight to the
supervisors. Each person gets a delivery row of their own, tried through their senders in
order (falling back on failure, every try stored) and retried with backoff. Without a roster,
or without any sender configured (the embedded default) the ``Notifier`` is told.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Config
from bot.gap_alerts import enqueue_gap_alerts, gap_of, still_a_gap
from bot.notifiers import texts
from bot.notifiers.base import DeliveryStatus, Sender
from bot.notifiers.deliver import deliver
from bot.notifiers.factory import senders_for
from bot.notifiers.notice import NoticeKind, QuotedMessage, StaffNotice
from bot.notify import Notifier
from bot.outbox import Handler, Result, Verdict, Write
from bot.roster import SocialWorker, escalation_chain, people_at_level
from bot.web.ack_tokens import ack_url, make_ack_token
from handlers.escalation import DUTY, is_taken, on_sla_missed
from storage import queries
from storage.db import Database
from storage.models import (
    CallStatus,
    Escalation,
    EscalationStatus,
    FollowUp,
    FollowUpStatus,
    Message,
    OutboxItem,
    OutboxKind,
    Person,
    Priority,
)

# Her last messages a worker sees in a notice (WeCom, e-mail; never SMS).
QUOTED_MESSAGES = 3

log = logging.getLogger("careline.staff")


def notice_key(escalation: Escalation) -> str:
    """One notice per escalation, level, priority and deadline: a raised priority is told
    again, and so are the supervisors each SLA period nobody takes it at the top level."""
    deadline = int(escalation.sla_deadline.timestamp())
    return f"notice:{escalation.id}:{escalation.level}:{escalation.priority}:{deadline}"


def sla_key(escalation: Escalation) -> str:
    return f"sla:{escalation.id}:{escalation.level}:{escalation.sla_deadline.isoformat()}"


def follow_up_key(follow_up_id: int) -> str:
    return f"follow-up:{follow_up_id}"


def taken_key(escalation_id: int, recipient: str) -> str:
    return f"taken:{escalation_id}:{recipient}"


async def enqueue_taken_notices(session, escalation: Escalation, *, taken_by: str, now) -> int:  # type: ignore[no-untyped-def]
    """Everyone a notice of it reached, but the one who took it, is told it is taken."""
    told = 0
    for recipient in await queries.notified_recipients(session, escalation.id):  # type: ignore[arg-type]
        if recipient == taken_by:
            continue
        key = taken_key(escalation.id, recipient)  # type: ignore[arg-type]
        if await queries.enqueue(
            session,
            kind=OutboxKind.STAFF_TAKEN,
            key=key,
            due_at=now,
            now=now,
            escalation_id=escalation.id,
            recipient=recipient,
        ):
            told += 1
    return told


async def enqueue_escalation_notice(  # type: ignore[no-untyped-def]
    session, escalation: Escalation, now: datetime, *, notify_at: datetime | None = None
) -> None:
    """The notice to its current level (now, or at ``notify_at``), and the SLA check at its
    deadline (one statement)."""
    await queries.enqueue_all(
        session,
        [
            queries.outbox_row(
                kind=OutboxKind.STAFF_NOTICE,
                key=notice_key(escalation),
                due_at=notify_at or now,
                now=now,
                escalation_id=escalation.id,
            ),
            queries.outbox_row(
                kind=OutboxKind.SLA_CHECK,
                key=sla_key(escalation),
                due_at=escalation.sla_deadline,
                now=now,
                escalation_id=escalation.id,
            ),
        ],
    )


class StaffWork:
    def __init__(
        self,
        *,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        config: Config,
        senders: Mapping[str, Sender] | None = None,
        ack_secret: str | None = None,
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._clock = clock
        self._config = config
        self._policy = config.policy
        self._senders = dict(senders or {})
        self._ack_secret = ack_secret

    def handlers(self) -> dict[str, Handler]:
        return {
            OutboxKind.STAFF_NOTICE: self.notice,
            OutboxKind.STAFF_DELIVERY: self.delivery,
            OutboxKind.SLA_CHECK: self.sla_check,
            OutboxKind.STAFF_TAKEN: self.taken,
            OutboxKind.ROSTER_GAP: self.roster_gap,
        }

    @property
    def _reaches_people(self) -> bool:
        """A roster and at least one sender: else (the embedded default) the Notifier."""
        return bool(self._config.roster.workers) and bool(self._senders)

    async def notice(self, item: OutboxItem) -> Result:
        """Tell the escalation's current level: one delivery row per person."""
        async with self._db.session() as session:
            escalation = await queries.get_escalation(session, item.escalation_id)  # type: ignore[arg-type]
            if escalation is None:
                return Result(Verdict.FAILED, "escalation not found")
            person = await queries.get_person(session, escalation.person_id)
        if is_taken(escalation):
            return Result(Verdict.CANCELLED, f"already {escalation.status}")
        assert person is not None
        if not self._reaches_people:
            if not await self._notifier.escalation(escalation, person.pseudonym):
                return Result(Verdict.RETRY, "not delivered")
            return Result(Verdict.DONE, "delivered").also(self._notified(escalation.id))  # type: ignore[arg-type]
        people = self._level(escalation)
        if not people:
            return Result(Verdict.FAILED, "nobody on the roster for this level")
        now = self._clock.now()
        async with self._db.write() as session:
            # Who handed it back is out of this case (their links cannot take it): at the top
            # level, where the supervisors are told again each period, they are not.
            handed_back = await queries.handed_back_by(session, escalation.id)  # type: ignore[arg-type]
            told = [worker for worker in people if worker.id not in handed_back]
            for worker in told:
                await _enqueue_delivery(session, item, worker, now, escalation_id=escalation.id)
        if not told:
            return Result(Verdict.FAILED, "everyone at this level handed it back")
        return Result(Verdict.DONE, f"to {len(told)}")

    async def delivery(self, item: OutboxItem) -> Result:
        """One person: an escalation's level, or the worker a follow-up is for."""
        assert item.recipient is not None
        try:
            worker = self._config.roster.worker(item.recipient)
        except KeyError:
            return Result(Verdict.FAILED, "recipient no longer on the roster")
        async with self._db.session() as session:
            if item.follow_up_id is not None:
                notice = await self._follow_up_notice(session, item)
            else:
                escalation = await queries.get_escalation(session, item.escalation_id)  # type: ignore[arg-type]
                if escalation is None:
                    return Result(Verdict.FAILED, "escalation not found")
                if is_taken(escalation):
                    return Result(Verdict.CANCELLED, f"already {escalation.status}")
                notice = await self._escalation_notice(session, escalation, worker, item)
        if notice is None:
            return Result(Verdict.FAILED, "follow-up not found")
        result = await self._send(notice, worker, item)
        if result.verdict is Verdict.DONE and item.follow_up_id is None:
            return result.also(self._notified(item.escalation_id))  # type: ignore[arg-type]
        return result

    async def _send(self, notice: StaffNotice, worker: SocialWorker, item: OutboxItem) -> Result:
        """Through the person's senders in order; every try stored, then what the row does."""
        senders = senders_for(self._config, self._senders, worker.id, notice.priority)
        if not senders:
            return Result(Verdict.FAILED, "no sender configured for this person")
        report = await deliver(notice, worker, senders, clock=self._clock)
        now = self._clock.now()

        async def record_attempts(session: AsyncSession) -> None:
            for attempt in report.attempts:
                queries.record_attempt(
                    session,
                    escalation_id=item.escalation_id,
                    outbox_id=item.id,
                    recipient=worker.id,
                    sender=attempt.sender,
                    status=attempt.status.value,
                    reason=attempt.reason,
                    at=attempt.at or now,
                )

        if report.status is DeliveryStatus.DELIVERED:
            result = Result(Verdict.DONE, f"delivered by {report.delivered_by}")
        elif report.status is DeliveryStatus.FAILED_RETRYABLE:
            result = Result(Verdict.RETRY, "no sender got through")
        else:
            result = Result(Verdict.FAILED, "no sender can reach this person")
        return result.also(record_attempts)

    async def _escalation_notice(
        self,
        session: AsyncSession,
        escalation: Escalation,
        worker: SocialWorker,
        item: OutboxItem,
    ) -> StaffNotice:
        person = await session.get_one(Person, escalation.person_id)
        opening = await session.get(Message, escalation.message_id)
        recent = await queries.last_inbound(session, escalation.person_id, limit=QUOTED_MESSAGES)
        # A call still going on may yet be joined: the notice says so, and on which line.
        call = await queries.call_of_escalation(session, escalation.id)  # type: ignore[arg-type]
        return StaffNotice(
            kind=NoticeKind.NEW if escalation.level == 0 else NoticeKind.CLIMBED,
            priority=Priority(escalation.priority),
            escalation_id=escalation.id,
            pseudonym=person.pseudonym,
            channel=opening.channel if opening is not None else "",
            risk_level=escalation.risk_level,
            reasons=(escalation.reason,),
            recent_messages=tuple(QuotedMessage(m.received_at, m.text) for m in recent),
            ack_url=self._ack_link(escalation, worker),
            line=call.line if call is not None else None,
            in_progress=(
                texts.CALL_IN_PROGRESS
                if call is not None and call.status == CallStatus.IN_PROGRESS
                else None
            ),
            due_at=escalation.sla_deadline,
            notice_id=item.key,
        )

    async def _follow_up_notice(
        self, session: AsyncSession, item: OutboxItem
    ) -> StaffNotice | None:
        follow_up = await queries.get_follow_up(session, item.follow_up_id)  # type: ignore[arg-type]
        if follow_up is None:
            return None
        person = await session.get_one(Person, follow_up.person_id)
        escalation = (
            await queries.get_escalation(session, follow_up.escalation_id)
            if follow_up.escalation_id is not None
            else None
        )
        recent = await queries.last_inbound(session, follow_up.person_id, limit=QUOTED_MESSAGES)
        return StaffNotice(
            kind=NoticeKind.FOLLOW_UP,
            priority=Priority(escalation.priority) if escalation else Priority.P3,
            escalation_id=follow_up.escalation_id,
            pseudonym=person.pseudonym,
            channel=follow_up.channel,
            risk_level=escalation.risk_level if escalation else "none",
            reasons=(escalation.reason,) if escalation else (),
            recent_messages=tuple(QuotedMessage(m.received_at, m.text) for m in recent),
            due_at=follow_up.due_at,
            notice_id=item.key,
            extra={"follow_up": follow_up.kind},
        )

    async def taken(self, item: OutboxItem) -> Result:
        """Tell one person told before that somebody took the case: they can stand down."""
        async with self._db.session() as session:
            escalation = await queries.get_escalation(session, item.escalation_id)  # type: ignore[arg-type]
            if escalation is None:
                return Result(Verdict.FAILED, "escalation not found")
            if escalation.status == EscalationStatus.RESOLVED:
                return Result(Verdict.CANCELLED, "resolved meanwhile")
            person = await queries.get_person(session, escalation.person_id)
            opening = await session.get(Message, escalation.message_id)
            acknowledged = await queries.last_event(
                session,
                action="escalation.acknowledged",
                object_type="escalation",
                object_id=escalation.id,  # type: ignore[arg-type]
            )
        assert person is not None and item.recipient is not None
        try:
            worker = self._config.roster.worker(item.recipient)
        except KeyError:
            return Result(Verdict.FAILED, "recipient no longer on the roster")
        notice = StaffNotice(
            kind=NoticeKind.TAKEN,
            priority=Priority(escalation.priority),
            escalation_id=escalation.id,
            pseudonym=person.pseudonym,
            channel=opening.channel if opening is not None else "",
            risk_level=escalation.risk_level,
            reasons=(escalation.reason,),
            taken_by=self._name(acknowledged.actor) if acknowledged else None,
            notice_id=item.key,
        )
        return await self._send(notice, worker, item)

    async def check_roster(self) -> int:
        """The leader's duty: enqueue a notice to every supervisor of each gap coming (or
        here); how many are new. Nobody to tell without senders: nothing is enqueued."""
        if not self._reaches_people or not self._config.roster.supervisors:
            return 0
        async with self._db.write() as session:
            return await enqueue_gap_alerts(
                session, self._config.roster, self._clock.now(), self._config.zone
            )

    async def roster_gap(self, item: OutboxItem) -> Result:
        """Tell one supervisor of a gap, unless it closed or the roster changed it since."""
        assert item.recipient is not None
        gap = gap_of(item.key)
        now = self._clock.now()
        if gap.end <= now:
            return Result(Verdict.CANCELLED, "the gap is over")
        if not still_a_gap(self._config.roster, gap, self._config.zone):
            return Result(Verdict.CANCELLED, "the roster changed")
        try:
            worker = self._config.roster.worker(item.recipient)
        except KeyError:
            return Result(Verdict.FAILED, "recipient no longer on the roster")
        notice = StaffNotice(
            kind=NoticeKind.ROSTER_GAP,
            # Nobody on duty now: as urgent as a crisis would be; ahead of time, a P2.
            priority=Priority.P1 if gap.start <= now else Priority.P2,
            gap_start=gap.start,
            gap_end=gap.end,
            notice_id=item.key,
        )
        return await self._send(notice, worker, item)

    def _name(self, worker_id: str) -> str:
        """A roster worker's name; anyone else (a staff account) by what the log calls them."""
        try:
            return self._config.roster.worker(worker_id).name
        except KeyError:
            return worker_id

    def _level(self, escalation: Escalation) -> tuple[SocialWorker, ...]:
        """The people of the escalation's level, in the chain frozen when it opened; at the
        first level, whoever took it before (a more urgent message opened it again) first."""
        people = people_at_level(
            self._config.roster, escalation.created_at, escalation.level, self._config.zone
        )
        if escalation.level != DUTY or not escalation.taken_by:
            return people
        try:
            taker = self._config.roster.worker(escalation.taken_by)
        except KeyError:  # a staff account off the roster: the chain alone
            return people
        return (taker, *(p for p in people if p.id != taker.id))

    def _ack_link(self, escalation: Escalation, worker: SocialWorker) -> str | None:
        base = self._config.notifications.public_base_url
        if not base or not self._ack_secret:
            return None
        minutes = self._config.notifications.ack_link_minutes
        token = make_ack_token(
            self._ack_secret,
            escalation_id=escalation.id,  # type: ignore[arg-type]
            recipient_id=worker.id,
            expires_at=self._clock.now() + timedelta(minutes=minutes),
        )
        return ack_url(base, token)

    def _notified(self, escalation_id: int) -> Write:
        """Open → notified, written with the row that says the notice went out."""

        async def mark(session: AsyncSession) -> None:
            await queries.mark_notified(session, escalation_id, self._clock.now())

        return mark

    async def sla_check(self, item: OutboxItem) -> Result:
        now = self._clock.now()
        async with self._db.write() as session:
            escalation = await queries.get_escalation(session, item.escalation_id)  # type: ignore[arg-type]
            if escalation is None:
                return Result(Verdict.FAILED, "escalation not found")
            climb = on_sla_missed(escalation, escalation.level, now, self._policy)
            if climb is None or escalation.sla_deadline > now:
                # Taken, or its deadline moved (a later check is queued for it).
                return Result(Verdict.DONE, "nothing to do")
            if not await queries.climb_escalation(
                session,
                escalation.id,  # type: ignore[arg-type]
                from_level=climb.from_level,
                to_level=climb.to_level,
                deadline=climb.sla_deadline,
                at=now,
            ):
                return Result(Verdict.DONE, "moved on meanwhile")
            await queries.audit(
                session,
                actor="careline",
                action="escalation.sla_missed",
                object_type="escalation",
                object_id=escalation.id,
                at=now,
                detail={"from_level": climb.from_level, "to_level": climb.to_level},
            )
            await session.refresh(escalation)
            # The next level is told now; at the top, the supervisors again each SLA period.
            await enqueue_escalation_notice(session, escalation, now)
        return Result(Verdict.DONE, f"level {climb.from_level} -> {climb.to_level}")

    async def ask_worker(self, follow_up: FollowUp, item: OutboxItem, now: datetime) -> Result:
        """A follow-up a person makes (a callback, a check-in her channel cannot carry): to the
        worker who took her case, else whoever is on duty; without a roster, the notifier."""
        if self._reaches_people:
            taken_by = (
                await self._taken_by(follow_up.escalation_id) if follow_up.escalation_id else None
            )
            worker = self._follow_up_worker(taken_by)
            if worker is not None:
                return await self._hand_follow_up_to(worker, follow_up, item, now)
        async with self._db.session() as session:
            person = await session.get_one(Person, follow_up.person_id)
        try:
            delivered = await self._notifier.follow_up_due(follow_up, person.pseudonym)
            outcome = "已通知社工跟进" if delivered else "通知未送达"
        except Exception:
            log.exception("follow-up #%s could not be delivered", follow_up.id)
            delivered, outcome = False, "通知出错"
        await self._finish_follow_up(follow_up.id, delivered=delivered, outcome=outcome, at=now)  # type: ignore[arg-type]
        return Result(Verdict.DONE if delivered else Verdict.FAILED, outcome_code(delivered))

    async def _taken_by(self, escalation_id: int) -> str | None:
        async with self._db.session() as session:
            escalation = await queries.get_escalation(session, escalation_id)
        return escalation.taken_by if escalation is not None else None

    def _follow_up_worker(self, taken_by: str | None) -> SocialWorker | None:
        """Who makes a follow-up: the worker who took her case, else whoever is on duty."""
        roster = self._config.roster
        if taken_by:
            try:
                return roster.worker(taken_by)
            except KeyError:
                pass
        chain = escalation_chain(roster, self._clock.now(), self._config.zone)
        return chain[0].people[0] if chain and chain[0].people else None

    async def _hand_follow_up_to(
        self, worker: SocialWorker, follow_up: FollowUp, item: OutboxItem, now: datetime
    ) -> Result:
        """A delivery row of its own tells the worker (fallback, retries, every try stored)."""
        async with self._db.write() as session:
            await _enqueue_delivery(
                session,
                item,
                worker,
                now,
                escalation_id=follow_up.escalation_id,
                follow_up_id=follow_up.id,
            )
        outcome = f"已交给社工 {worker.name} 跟进"
        await self._finish_follow_up(follow_up.id, delivered=True, outcome=outcome, at=now)  # type: ignore[arg-type]
        return Result(Verdict.DONE, f"to {worker.id}")

    async def _finish_follow_up(
        self, follow_up_id: int, *, delivered: bool, outcome: str, at: datetime
    ) -> None:
        async with self._db.write() as session:
            stored = await queries.get_follow_up(session, follow_up_id)
            assert stored is not None
            stored.status = FollowUpStatus.DONE if delivered else FollowUpStatus.FAILED
            stored.outcome = outcome
            await queries.audit(
                session,
                actor="scheduler",
                action="follow_up.fired",
                object_type="follow_up",
                object_id=follow_up_id,
                at=at,
                detail={"delivered": delivered},
            )


async def _enqueue_delivery(  # type: ignore[no-untyped-def]
    session,
    item: OutboxItem,
    worker: SocialWorker,
    now: datetime,
    *,
    escalation_id: int | None,
    follow_up_id: int | None = None,
) -> None:
    """What ``item`` is about, to one person: a delivery row of its own (its own retries)."""
    await queries.enqueue(
        session,
        kind=OutboxKind.STAFF_DELIVERY,
        key=f"{item.key}:{worker.id}",
        due_at=now,
        now=now,
        escalation_id=escalation_id,
        follow_up_id=follow_up_id,
        recipient=worker.id,
    )


def outcome_code(delivered: bool) -> str:
    return "delivered" if delivered else "not delivered"
