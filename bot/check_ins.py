"""Check-ins: asking a mother how she is, on her own channel, and noticing when she goes quiet.

When a check-in falls due, ``handlers.followup.on_check_in_due`` decides from what is stored:
she answered the last one (the run ends), every one went unanswered (a P2 "lost contact"
escalation), her channel can reach her (a ``check_in`` outbox row sends it), or it cannot (a
worker checks in instead). A check-in that went out schedules the next round; one her channel
refuses, or that keeps failing, goes to a worker. Nothing here is sent inside a request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.case_rows import page_for, schedule_follow_up, write_escalation
from bot.clock import Clock
from bot.outbound import MotherSender, SendError, SendFailure
from bot.outbox import Result, Verdict
from bot.staff_work import StaffWork
from handlers.followup import (
    AskWorker,
    CheckInDue,
    LostContact,
    RunEnds,
    SendCheckIn,
    next_round,
    on_check_in_due,
)
from handlers.settings import PolicySettings
from handlers.texts import check_in_text
from storage import queries
from storage.db import Database
from storage.fieldcrypt import FieldCipher
from storage.models import (
    Direction,
    FollowUp,
    FollowUpStatus,
    Message,
    MessageStatus,
    OutboxItem,
    OutboxKind,
)

log = logging.getLogger("careline.check_ins")

# Sent only while this much of the platform's reply window is left: the send happens at once,
# but not at the window's last second.
WINDOW_MARGIN = timedelta(minutes=10)
# Tries of a send that failed without reaching her before a worker takes the check-in over.
SEND_TRIES = 3

# What the follow-up's record says (a worker reads it).
OUTCOMES = {
    "sent": "已发给她",
    "maybe_sent": "可能已发给她（发送超时）",
    "answered": "她已回复",
    "lost_contact": "多次未回复，已转社工跟进",
}


def check_in_key(follow_up_id: int) -> str:
    return f"check-in:{follow_up_id}"


class CheckIns:
    def __init__(
        self,
        *,
        db: Database,
        cipher: FieldCipher,
        clock: Clock,
        policy: PolicySettings,
        zone: ZoneInfo,
        senders: Mapping[str, MotherSender],
        staff: StaffWork,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self._policy = policy
        self._zone = zone
        self._senders = dict(senders)
        self._staff = staff

    async def due(self, follow_up: FollowUp, item: OutboxItem, now: datetime) -> Result:
        """A claimed check-in fell due (``bot.follow_ups``): decide, and act on it."""
        async with self._db.write() as session:
            open_escalation = await queries.unresolved_escalation(session, follow_up.person_id)
            due = CheckInDue(
                follow_up=follow_up,
                answered=await queries.wrote_since(
                    session, follow_up.person_id, follow_up.created_at
                ),
                reachable=await self._recipient(session, follow_up, now) is not None,
                open_escalation=open_escalation,
            )
            step = on_check_in_due(due, now, self._policy, self._zone)
            if isinstance(step, SendCheckIn):
                await queries.enqueue(
                    session,
                    kind=OutboxKind.CHECK_IN,
                    key=check_in_key(follow_up.id),  # type: ignore[arg-type]
                    due_at=now,
                    now=now,
                    follow_up_id=follow_up.id,
                )
                return Result(Verdict.DONE, "to her channel")
            if isinstance(step, RunEnds):
                await _finish(session, follow_up.id, "answered", now)  # type: ignore[arg-type]
                return Result(Verdict.DONE, "answered")
            if isinstance(step, LostContact):
                assert follow_up.message_id is not None
                escalation = await write_escalation(
                    session,
                    step.escalation,
                    person_id=follow_up.person_id,
                    message_id=follow_up.message_id,
                    existing=open_escalation,
                    now=now,
                )
                await page_for(session, step.escalation, escalation, now)
                await _finish(session, follow_up.id, "lost_contact", now)  # type: ignore[arg-type]
                return Result(Verdict.DONE, "lost contact")
            assert isinstance(step, AskWorker)
        return await self._staff.ask_worker(follow_up, item, now)

    async def send(self, item: OutboxItem) -> Result:
        """A ``check_in`` row: send it to her; then the next round waits for her answer."""
        now = self._clock.now()
        assert item.follow_up_id is not None
        async with self._db.session() as session:
            follow_up = await queries.get_follow_up(session, item.follow_up_id)
            assert follow_up is not None
            if follow_up.status == FollowUpStatus.SENDING:
                # A run stopped mid-send: it may have reached her. Not again: a worker checks.
                return await self._staff.ask_worker(follow_up, item, now)
            if follow_up.status != FollowUpStatus.FIRING:
                return Result(Verdict.DONE, "finished before")
            recipient = await self._recipient(session, follow_up, now)
        if recipient is None:  # her window closed while the row waited
            return await self._staff.ask_worker(follow_up, item, now)
        text = check_in_text(follow_up.round, programme_hotline=self._policy.programme_hotline)
        if not await self._mark(follow_up, was=FollowUpStatus.FIRING, now=FollowUpStatus.SENDING):
            return Result(Verdict.DONE, "finished before")
        try:
            await self._senders[follow_up.channel].send_text(recipient, text)
        except SendError as exc:
            if exc.failure is SendFailure.MAYBE_SENT:
                # She may have it: sending again could reach her twice.
                return await self._sent(follow_up, text, now, outcome="maybe_sent")
            log.warning(
                "check-in #%s not sent (%s): %s", follow_up.id, exc.failure.value, exc.detail
            )
            if exc.failure is SendFailure.RETRY and item.attempts < SEND_TRIES:
                await self._mark(follow_up, was=FollowUpStatus.SENDING, now=FollowUpStatus.FIRING)
                return Result(Verdict.RETRY, exc.failure.value)
            return await self._staff.ask_worker(follow_up, item, now)
        return await self._sent(follow_up, text, now, outcome="sent")

    async def _mark(self, follow_up: FollowUp, *, was: FollowUpStatus, now: FollowUpStatus) -> bool:
        async with self._db.write() as session:
            return await queries.mark_follow_up(session, follow_up.id, was=was, now=now)  # type: ignore[arg-type]

    async def _recipient(
        self, session: AsyncSession, follow_up: FollowUp, now: datetime
    ) -> str | None:
        """Her id on the follow-up's channel, if that channel can write to her now."""
        sender = self._senders.get(follow_up.channel)
        if sender is None:
            return None
        if sender.reply_window is not None:
            last = await queries.last_inbound_at(session, follow_up.person_id, follow_up.channel)
            if last is None or now >= last + sender.reply_window - WINDOW_MARGIN:
                return None
        identity = await queries.identity_of_kind(
            session, follow_up.person_id, sender.identity_kind
        )
        if identity is None:
            return None
        return self._cipher.decrypt(identity.value_encrypted, context=identity.kind)

    async def _sent(self, follow_up: FollowUp, text: str, now: datetime, *, outcome: str) -> Result:
        """In her thread as sent; the follow-up done; the next round scheduled."""
        async with self._db.write() as session:
            session.add(
                Message(
                    person_id=follow_up.person_id,
                    channel=follow_up.channel,
                    direction=Direction.OUT,
                    status=MessageStatus.SENT,
                    text=text,
                    sent_at=now,
                    received_at=now,
                )
            )
            await _finish(session, follow_up.id, outcome, now)  # type: ignore[arg-type]
            await schedule_follow_up(
                session,
                next_round(follow_up, now, self._policy, self._zone),
                person_id=follow_up.person_id,
                message_id=follow_up.message_id,
                escalation_id=follow_up.escalation_id,
                channel=follow_up.channel,
                now=now,
            )
        return Result(Verdict.DONE, outcome)


async def _finish(session: AsyncSession, follow_up_id: int, outcome: str, now: datetime) -> None:
    follow_up = await queries.get_follow_up(session, follow_up_id)
    assert follow_up is not None
    follow_up.status = FollowUpStatus.DONE
    follow_up.outcome = OUTCOMES[outcome]
    await queries.audit(
        session,
        actor="scheduler",
        action="follow_up.fired",
        object_type="follow_up",
        object_id=follow_up_id,
        at=now,
        detail={"check_in": outcome, "round": follow_up.round},
    )
