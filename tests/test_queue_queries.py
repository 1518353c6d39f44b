"""The queue's rows and its version, on real databases (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.web.queue_events import QueueWatch
from storage import queries
from storage.db import Database
from storage.fieldcrypt import FieldCipher
from storage.models import Escalation, EscalationStatus
from tests.escalation_rows import add_escalation

T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(os.urandom(32))


async def _ids(database: Database, visible_to: queries.Holder | None) -> list[int]:
    async with database.session() as session:
        rows = await queries.queue_rows(session, visible_to=visible_to)
    return [row.escalation.id for row in rows]  # type: ignore[misc]


async def test_the_queue_lists_p1_first_then_the_longest_waiting_and_leaves_out_resolved(
    database: Database, cipher: FieldCipher
) -> None:
    p2_oldest = await add_escalation(database, cipher, phone="13800000001", at=T0, priority="P2")
    p1_newer = await add_escalation(
        database, cipher, phone="13800000002", at=T0 + timedelta(minutes=9)
    )
    p1_older = await add_escalation(
        database, cipher, phone="13800000003", at=T0 + timedelta(minutes=3)
    )
    p3 = await add_escalation(database, cipher, phone="13800000004", at=T0, priority="P3")
    await add_escalation(
        database, cipher, phone="13800000005", at=T0, status=EscalationStatus.RESOLVED
    )

    assert await _ids(database, None) == [p1_older.id, p1_newer.id, p2_oldest.id, p3.id]


async def test_a_worker_sees_her_own_and_the_untaken_but_not_a_colleagues(
    database: Database, cipher: FieldCipher
) -> None:
    untaken = await add_escalation(database, cipher, phone="13800000001", at=T0)
    hers = await add_escalation(
        database,
        cipher,
        phone="13800000002",
        at=T0,
        status=EscalationStatus.ACKNOWLEDGED,
        taken_by="sw-chen",
    )
    await add_escalation(
        database,
        cipher,
        phone="13800000003",
        at=T0,
        status=EscalationStatus.ACKNOWLEDGED,
        taken_by="sw-lin",
    )

    chen = queries.Holder(username="sw-chen", staff_id=None)
    assert sorted(await _ids(database, chen)) == sorted([untaken.id, hers.id])
    assert len(await _ids(database, None)) == 3


async def test_a_row_carries_her_channel_pseudonym_and_the_risk_reasons_of_her_messages(
    database: Database, cipher: FieldCipher
) -> None:
    escalation = await add_escalation(
        database,
        cipher,
        phone="13800000001",
        at=T0,
        channel="hotline",
        risk_reasons=("plan", "means"),
    )
    async with database.session() as session:
        [row] = await queries.queue_rows(session, visible_to=None)
        person = await queries.get_person(session, escalation.person_id)
    assert row.channel == "hotline"
    assert row.risk_reasons == ("plan", "means")
    assert person is not None and row.pseudonym == person.pseudonym


async def _version(database: Database) -> str:
    async with database.session() as session:
        return await queries.queue_version(session)


async def test_the_version_changes_with_every_move_even_at_the_same_moment(
    database: Database, cipher: FieldCipher
) -> None:
    versions = [await _version(database)]
    escalation = await add_escalation(database, cipher, phone="13800000001", at=T0)
    versions.append(await _version(database))
    for status in (EscalationStatus.ACKNOWLEDGED, EscalationStatus.RESOLVED):
        async with database.write() as session:
            await session.execute(
                update(Escalation)
                .where(Escalation.id == escalation.id)
                .values(status=status, updated_at=T0)  # a fixed clock: same moment
            )
        versions.append(await _version(database))
    # Each move changes it; resolving the only one leaves a queue as empty as the first.
    assert all(before != after for before, after in itertools.pairwise(versions))
    assert versions[-1] == versions[0]


async def test_the_watch_sees_a_write_by_another_process(
    db_url,
    cipher: FieldCipher,  # type: ignore[no-untyped-def]
) -> None:
    """Two ``Database`` objects on one database are two replicas: nothing in memory links
    them, only what the other one wrote."""
    ours, theirs = Database(db_url), Database(db_url)
    watch = QueueWatch(ours, interval=0.05)
    try:
        async with watch.listening():
            before = await asyncio.wait_for(watch.change_from(None), 5)
            await add_escalation(theirs, cipher, phone="13800000001", at=T0)
            after = await asyncio.wait_for(watch.change_from(before), 5)
        assert after != before
    finally:
        await watch.close()
        await ours.close()
        await theirs.close()


async def test_closing_the_watch_ends_every_wait(database: Database) -> None:
    watch = QueueWatch(database, interval=0.05)
    async with watch.listening():
        seen = await asyncio.wait_for(watch.change_from(None), 5)
        waiting = asyncio.create_task(watch.change_from(seen))
        await watch.close()
        assert await asyncio.wait_for(waiting, 5) is None
