"""Firing a follow-up when its outbox row falls due, exactly once.

The follow-up's own claim (scheduled → firing) lets one run through, whichever replica or retry
gets there. A check-in goes to ``bot.check_ins`` (her channel, or a worker when it cannot reach
her); a callback is a worker's task (``StaffWork.ask_worker``).
"""

from __future__ import annotations

from bot.check_ins import CheckIns
from bot.clock import Clock
from bot.outbox import Result, Verdict
from bot.staff_work import StaffWork
from storage import queries
from storage.db import Database
from storage.models import FollowUpKind, FollowUpStatus, OutboxItem

INTERRUPTED = "发送中断，请人工确认"


class FollowUps:
    def __init__(self, *, db: Database, clock: Clock, staff: StaffWork, check_ins: CheckIns):
        self._db = db
        self._clock = clock
        self._staff = staff
        self._check_ins = check_ins

    async def fire(self, item: OutboxItem) -> Result:
        now = self._clock.now()
        follow_up_id = item.follow_up_id
        assert follow_up_id is not None
        async with self._db.write() as session:
            if not await queries.claim_follow_up(session, follow_up_id, now):
                follow_up = await queries.get_follow_up(session, follow_up_id)
                if follow_up is not None and follow_up.status == FollowUpStatus.FIRING:
                    # Claimed by a run that stopped mid-way: it may have gone out. A person
                    # checks rather than the mother or worker getting it twice.
                    follow_up.status = FollowUpStatus.FAILED
                    follow_up.outcome = INTERRUPTED
                    return Result(Verdict.FAILED, "interrupted mid-send")
                return Result(Verdict.DONE, "fired before")
            follow_up = await queries.get_follow_up(session, follow_up_id)
            assert follow_up is not None
        if follow_up.kind == FollowUpKind.CHECK_IN:
            return await self._check_ins.due(follow_up, item, now)
        return await self._staff.ask_worker(follow_up, item, now)
