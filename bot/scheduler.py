"""APScheduler 3 with a SQLAlchemy job store beside Careline's data, so jobs survive restarts.

On PostgreSQL the jobs table lives in the same database. On SQLite it lives in a sibling file
(``careline-jobs.db``): APScheduler's store is synchronous and runs on the event loop, and
SQLite locks the whole file for a writer, so a job-store write waiting on an async transaction
that needs the (blocked) loop to finish would deadlock until the busy timeout.

Job functions are named by reference ("bot.jobs:fire_follow_up") and take only ids, so the
store holds no Python objects of ours. Each job id is derived from the row it serves, so
scheduling twice replaces rather than duplicates.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.job import Job
from apscheduler.jobstores.base import ConflictingIdError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from storage.db import sync_url, tune_sqlite_engine

JOBS_TABLE = "apscheduler_jobs"


def follow_up_job_id(follow_up_id: int) -> str:
    return f"follow-up:{follow_up_id}"


def sla_job_id(escalation_id: int, level: int) -> str:
    return f"escalation-sla:{escalation_id}:{level}"


def job_store_url(database_url: URL) -> URL:
    url = sync_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database)
        url = url.set(database=str(path.with_name(f"{path.stem}-jobs{path.suffix}")))
    return url


class _OneWakeupPerTurn(AsyncIOScheduler):
    """Jobs added together wake the scheduler once.

    APScheduler wakes after every ``add_job`` and reads the job store twice, synchronously on
    the event loop (~0.5 ms each time); a crisis message adds two jobs, and under load many
    messages add theirs within one turn of the loop. One wake-up sees them all.
    """

    _wakeup_pending = False

    def wakeup(self) -> None:
        if not self._wakeup_pending:
            self._wakeup_pending = True
            self._eventloop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        # AsyncIOScheduler.wakeup's own body (apscheduler/schedulers/asyncio.py).
        self._wakeup_pending = False
        self._stop_timer()
        self._start_timer(self._process_jobs())


class _JobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy store, adding jobs with one INSERT built once.

    Its own ``add_job`` builds the INSERT with the values inlined, so SQLAlchemy builds the
    statement and its cache key again for every job (~100 of ~230 us, on the event loop).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._insert = self.jobs_t.insert()

    def add_job(self, job: Job) -> None:
        row = {
            "id": job.id,
            "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
            "job_state": pickle.dumps(job.__getstate__(), self.pickle_protocol),
        }
        with self.engine.begin() as connection:
            try:
                connection.execute(self._insert, row)
            except IntegrityError:
                raise ConflictingIdError(job.id) from None


class Scheduler:
    def __init__(self, database_url: URL) -> None:
        self._engine = create_engine(job_store_url(database_url), pool_pre_ping=True)
        tune_sqlite_engine(self._engine)
        self._scheduler = _OneWakeupPerTurn(
            jobstores={"default": _JobStore(engine=self._engine, tablename=JOBS_TABLE)},
            job_defaults={
                # A job missed while the service was down still runs, once, however late.
                "misfire_grace_time": None,
                "coalesce": True,
                "max_instances": 1,
            },
            timezone=UTC,
        )

    def start(self, *, paused: bool = False) -> None:
        """Start; ``paused`` stores new jobs without running any (for one-off CLI commands)."""
        self._scheduler.start(paused=paused)

    def resume(self) -> None:
        """Run jobs (after ``start(paused=True)``)."""
        self._scheduler.resume()

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._engine.dispose()

    def schedule_follow_up(self, follow_up_id: int, due_at: datetime) -> None:
        self._add("bot.jobs:fire_follow_up", follow_up_job_id(follow_up_id), due_at, follow_up_id)

    def schedule_sla_check(self, escalation_id: int, level: int, at: datetime) -> None:
        self._add(
            "bot.jobs:check_escalation_sla",
            sla_job_id(escalation_id, level),
            at,
            escalation_id,
            level,
        )

    def on_job_finished(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(job_id)`` after each job runs (whether it succeeded or raised)."""
        self._scheduler.add_listener(
            lambda event: callback(event.job_id), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
        )

    def remove_job(self, job_id: str) -> None:
        self._scheduler.remove_job(job_id)

    def has_job(self, job_id: str) -> bool:
        return self._scheduler.get_job(job_id) is not None

    def job_ids(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()]

    def _add(self, func: str, job_id: str, run_date: datetime, *args: int) -> None:
        self._scheduler.add_job(
            func,
            trigger="date",
            run_date=run_date,
            args=list(args),
            id=job_id,
            replace_existing=True,
        )
