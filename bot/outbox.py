"""The outbox worker: does the work stored as rows (``storage.models.OutboxItem``).

Every process runs one. It claims due rows with a lease, runs each row's handler outside any
transaction (a WeCom or SMS call may take seconds), then records the result. A process that
dies mid-way leaves its claims to expire; another worker takes them again. A row's handler must
therefore be safe to run again for the same row: it re-reads what it acts on first (an
escalation taken meanwhile is not paged again).

The worker is woken at once by the process that enqueued a row (a P1 notice leaves within
milliseconds) and polled by the scheduler leader for rows enqueued elsewhere or due later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from storage import queries
from storage.db import Database
from storage.models import OutboxItem, OutboxStatus

log = logging.getLogger("careline.outbox")


class Verdict(Enum):
    DONE = "done"  # finished (sent, or nothing left to do)
    RETRY = "retry"  # failed this time, may succeed later
    FAILED = "failed"  # cannot succeed: a person must look
    CANCELLED = "cancelled"  # no longer needed
    WAIT = "wait"  # not ready yet (what it sends is still being decided): look again soon


Write = Callable[[AsyncSession], Awaitable[object]]


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    detail: str  # short, for the row and the log: never message text or a secret
    # What the handler's work changed beyond the row (an escalation now notified, the tries
    # made): written in the transaction that records the row's result, so that the row and
    # what it did are stored together or not at all (a notice marked sent is never sent again).
    writes: tuple[Write, ...] = ()

    def also(self, *writes: Write) -> Result:
        return replace(self, writes=(*self.writes, *writes))


Handler = Callable[[OutboxItem], Awaitable[Result]]

# Waits before each new try of a row whose handler asked to retry; then it fails.
DEFAULT_RETRY_SECONDS: Sequence[float] = (2, 10, 30, 60, 120, 300)
# A row that waits is looked at again this soon (its handler decides when waiting is over).
WAIT_SECONDS = 1.0
# Waits before writing a row's result again while the database is unreachable (~30 s in all).
RECORD_RETRY_SECONDS: Sequence[float] = (0.5, 1, 2, 4, 8, 15)


class OutboxWorker:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        owner: str,
        handlers: Mapping[str, Handler],
        lease: timedelta = timedelta(seconds=30),  # longer than any one send may take
        retry_seconds: Sequence[float] = DEFAULT_RETRY_SECONDS,
        batch: int = 20,
    ) -> None:
        self._db = db
        self._clock = clock
        self._owner = owner
        self._handlers = dict(handlers)
        self._lease = lease
        self._retry_seconds = tuple(retry_seconds)
        self._batch = batch
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Look for due rows now (a row was just enqueued, or the leader's poll ticked)."""
        self._wakeup.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self, grace_seconds: float = 15.0) -> None:
        """Stop once the rows under way are done (a send is not cut off half-way, its result
        is recorded); past the grace period, cancel: unfinished claims expire and are taken
        again."""
        if self._task is None:
            return
        self._stopping = True
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def run_due(self) -> int:
        """Run every row due now, batch by batch, including rows the handlers enqueue due now
        (the next level's notice after a climb); how many ran (tests call this directly)."""
        ran = 0
        while True:
            now = self._clock.now()
            async with self._db.write() as session:
                claimed = await queries.claim_due(
                    session, owner=self._owner, now=now, until=now + self._lease, limit=self._batch
                )
            # Side by side: one slow receiver must not hold back another mother's P1 notice.
            await asyncio.gather(*(self._run_one(item) for item in claimed))
            ran += len(claimed)
            if not claimed:
                return ran

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._stopping:
                return
            try:
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The database is down, say: the rows wait, and the next wake-up tries again.
                log.error("outbox: could not claim work: %s", type(exc).__name__)

    async def _run_one(self, item: OutboxItem) -> None:
        handler = self._handlers.get(item.kind)
        try:
            if handler is None:
                result = Result(Verdict.FAILED, f"no handler for {item.kind}")
            else:
                result = await handler(item)
        except Exception as exc:
            log.exception("outbox: %s #%s failed", item.kind, item.id)
            result = Result(Verdict.RETRY, type(exc).__name__)
        # Once sent, the row must say so, or the notice goes out again: a short database
        # outage is waited out rather than the claim left to expire.
        for delay in (*RECORD_RETRY_SECONDS, None):
            try:
                await self._record(item, result)
                return
            except Exception as exc:
                if delay is None:
                    log.error(
                        "outbox: could not record %s #%s: %s",
                        item.kind,
                        item.id,
                        type(exc).__name__,
                    )
                    return
            await asyncio.sleep(delay)

    async def _record(self, item: OutboxItem, result: Result) -> None:
        assert item.id is not None
        now = self._clock.now()
        retry_after = self._retry_after(item.attempts)
        if result.verdict is Verdict.WAIT:
            retry_after = timedelta(seconds=WAIT_SECONDS)
        async with self._db.write() as session:
            for write in result.writes:
                await write(session)
            if result.verdict in (Verdict.RETRY, Verdict.WAIT) and retry_after is not None:
                kept = await queries.retry_later(
                    session,
                    item.id,
                    owner=self._owner,
                    due_at=now + retry_after,
                    result=result.detail,
                )
            else:
                status = {
                    Verdict.DONE: OutboxStatus.SENT,
                    Verdict.CANCELLED: OutboxStatus.CANCELLED,
                }.get(result.verdict, OutboxStatus.FAILED)
                kept = await queries.finish(
                    session, item.id, owner=self._owner, status=status, result=result.detail, at=now
                )
                if status is OutboxStatus.FAILED:
                    log.error("outbox: %s #%s gave up: %s", item.kind, item.id, result.detail)
                    await queries.audit(
                        session,
                        actor="careline",
                        action="outbox.failed",
                        object_type="outbox",
                        object_id=item.id,
                        at=now,
                        detail={"kind": item.kind, "result": result.detail},
                    )
        if not kept:
            log.warning("outbox: lost the claim on %s #%s before recording it", item.kind, item.id)

    def _retry_after(self, attempts: int) -> timedelta | None:
        if attempts > len(self._retry_seconds):
            return None
        return timedelta(seconds=self._retry_seconds[attempts - 1])
