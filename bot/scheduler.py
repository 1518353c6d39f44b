"""The scheduler leader's clock: APScheduler 3 with a SQLAlchemy job store.

Timed work itself lives in rows (the outbox: notices, SLA checks, follow-ups, each with its due
time), so every replica sees it and a restart loses nothing. APScheduler runs only on the
leader (``bot.leader``; APScheduler's rule is one scheduler per job store) and keeps its duties
going: polling the outbox for rows that fall due, and taking up messages whose handling
stopped. Its jobs are stored by reference (``bot.jobs:tick`` with the duty's name); when one has
run, the listener given to ``start`` does the duty, with the running service in hand.

On PostgreSQL the jobs table lives in the same database. On SQLite it lives in a sibling file
(``careline-jobs.db``): the store is synchronous and runs on the event loop, and a writer of
the main file waiting on the loop would deadlock with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC
from pathlib import Path

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import create_engine
from sqlalchemy.engine import URL

from storage.db import sync_url, tune_sqlite_engine

JOBS_TABLE = "apscheduler_jobs"


def job_store_url(database_url: URL) -> URL:
    url = sync_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database)
        url = url.set(database=str(path.with_name(f"{path.stem}-jobs{path.suffix}")))
    return url


class Scheduler:
    def __init__(self, database_url: URL) -> None:
        self._url = job_store_url(database_url)
        self._scheduler: AsyncIOScheduler | None = None
        self._engine = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    def start(self, duties: Mapping[str, float], on_duty: Callable[[str], None]) -> None:
        """Run each duty every so many seconds, calling ``on_duty(name)`` each time."""
        if self._scheduler is not None:
            return
        self._engine = create_engine(self._url, pool_pre_ping=True)
        tune_sqlite_engine(self._engine)
        scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self._engine, tablename=JOBS_TABLE)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

        def done(event: JobExecutionEvent) -> None:
            if isinstance(event.retval, str):
                on_duty(event.retval)

        scheduler.add_listener(done, EVENT_JOB_EXECUTED)
        scheduler.start()
        wanted = {f"duty:{name}" for name in duties}
        for job in scheduler.get_jobs():
            if job.id not in wanted:  # a duty an older version stored
                job.remove()
        for name, seconds in duties.items():
            scheduler.add_job(
                "bot.jobs:tick",
                trigger="interval",
                seconds=seconds,
                args=[name],
                id=f"duty:{name}",
                replace_existing=True,
            )
        self._scheduler = scheduler

    def job_ids(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()] if self._scheduler else []

    def shutdown(self) -> None:
        if self._scheduler is not None:
            if self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
