"""One scheduler leader at a time: an advisory lock on PostgreSQL, the one process on SQLite;
the leader's duties run through APScheduler's real SQLAlchemy job store."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import URL

from bot.leader import Leadership
from bot.scheduler import Scheduler
from storage.db import Database


class Duties:
    def __init__(self) -> None:
        self.gained = 0
        self.lost = 0

    async def gain(self) -> None:
        self.gained += 1

    async def lose(self) -> None:
        self.lost += 1


def leadership(db: Database, duties: Duties) -> Leadership:
    return Leadership(db, on_gain=duties.gain, on_loss=duties.lose)


async def test_one_replica_leads_and_another_takes_over_when_it_goes(db_url: URL) -> None:
    dbs = [Database(db_url), Database(db_url)]
    duties = [Duties(), Duties()]
    leaders = [leadership(db, d) for db, d in zip(dbs, duties, strict=True)]
    try:
        assert await leaders[0].check()
        if db_url.get_backend_name() == "sqlite":
            pytest.skip("SQLite runs one process, which always leads")
        assert not await leaders[1].check(), "the lock is held: the second replica stands by"
        assert (duties[0].gained, duties[1].gained) == (1, 0)
        await leaders[0].stop()  # the leader stops (or dies: its connection goes either way)
        assert duties[0].lost == 1
        assert await leaders[1].check()
        assert duties[1].gained == 1
        assert await leaders[1].check() and duties[1].gained == 1, "gained once, not per check"
    finally:
        for leader in leaders:
            await leader.stop()
        for db in dbs:
            await db.close()


async def test_a_leader_that_loses_its_database_connection_steps_down(db_url: URL) -> None:
    if db_url.get_backend_name() == "sqlite":
        pytest.skip("no lock connection to lose on SQLite")
    db, duties = Database(db_url), Duties()
    leader = leadership(db, duties)
    try:
        assert await leader.check()
        # What a dropped connection looks like: the server ends the session holding the lock.
        other = Database(db_url)
        try:
            from sqlalchemy import text

            async with other.engine.connect() as conn:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks"
                        " WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                    )
                )
        finally:
            await other.close()
        assert not await leader.check()
        assert duties.lost == 1
        assert await leader.check(), "it takes the lead again once nobody else has it"
        assert duties.gained == 2
    finally:
        await leader.stop()
        await db.close()


async def test_the_leaders_duties_run_from_the_job_store(db_url: URL) -> None:
    scheduler = Scheduler(db_url)
    ran: asyncio.Queue[str] = asyncio.Queue()
    scheduler.start({"outbox": 0.05, "stale_messages": 0.05}, ran.put_nowait)
    try:
        assert sorted(scheduler.job_ids()) == ["duty:outbox", "duty:stale_messages"]
        async with asyncio.timeout(10):
            seen = {await ran.get(), await ran.get()}
            while seen != {"outbox", "stale_messages"}:
                seen.add(await ran.get())
    finally:
        scheduler.shutdown()
    assert not scheduler.running
    again = Scheduler(db_url)
    again.start({"outbox": 60}, ran.put_nowait)
    try:
        # Restarting replaces the stored duties rather than piling them up.
        assert "duty:outbox" in again.job_ids()
    finally:
        again.shutdown()
