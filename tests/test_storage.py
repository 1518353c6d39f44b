"""Storage on a real database: SQLite, and PostgreSQL when configured."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage import queries
from storage.db import Database
from storage.fieldcrypt import FieldCipher
from storage.migrate import head_revision
from storage.models import (
    Direction,
    Escalation,
    FollowUp,
    FollowUpStatus,
    Identity,
    Message,
    MessageStatus,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(os.urandom(32))


def _inbound(person_id: int, external_id: str | None, text: str = "你好", **kw) -> Message:
    return Message(
        person_id=person_id,
        channel="api",
        external_id=external_id,
        direction=Direction.IN,
        status=MessageStatus.RECEIVED,
        text=text,
        **kw,
    )


async def test_migrations_reach_head(database: Database) -> None:
    async with database.session() as session:
        assert await queries.schema_revision(session) == head_revision()


async def test_phone_is_encrypted_and_found_by_any_spelling(
    database: Database, cipher: FieldCipher
) -> None:
    async with database.session() as session, session.begin():
        person = await queries.find_or_create_person(session, cipher, "phone", "+86 138-0013-8000")
    async with database.session() as session:
        identity = await session.scalar(select(Identity).where(Identity.person_id == person.id))
        assert "13800138000" not in identity.value_encrypted + identity.lookup_hash
        assert cipher.decrypt(identity.value_encrypted, context="phone") == "+86 138-0013-8000"
        again = await queries.find_or_create_person(session, cipher, "phone", "13800138000")
    assert again.id == person.id


async def test_same_value_of_another_kind_is_another_person(
    database: Database, cipher: FieldCipher
) -> None:
    async with database.session() as session, session.begin():
        a = await queries.find_or_create_person(session, cipher, "wechat_openid", "o123")
        b = await queries.find_or_create_person(session, cipher, "group_member", "o123")
    assert a.id != b.id and a.pseudonym != b.pseudonym


async def test_a_pseudonym_already_taken_is_drawn_again(
    database: Database, cipher: FieldCipher
) -> None:
    draws = iter(["M-TAKEN2", "M-TAKEN2", "M-FRESH3"])
    async with database.write() as session:
        first, _ = await queries.find_or_add_person(
            session, cipher, "api", "first", pseudonyms=lambda: next(draws)
        )
        second, created = await queries.find_or_add_person(
            session, cipher, "api", "second", pseudonyms=lambda: next(draws)
        )
    assert (first.pseudonym, second.pseudonym, created) == ("M-TAKEN2", "M-FRESH3", True)
    async with database.session() as session:
        found = await queries.find_person(session, cipher, "api", "second")
    assert found is not None and (found.id, found.pseudonym) == (second.id, "M-FRESH3")


async def test_racing_first_messages_create_one_person(
    database: Database, cipher: FieldCipher
) -> None:
    async def first_contact() -> int:
        async with database.write() as session:
            return (await queries.find_or_create_person(session, cipher, "api", "racer")).id

    ids = await asyncio.gather(*(first_contact() for _ in range(5)), return_exceptions=True)
    person_ids = {i for i in ids if isinstance(i, int)}
    assert len(person_ids) == 1
    # Losers either joined the winner or failed loudly (never a second person).
    assert all(isinstance(i, int | IntegrityError) for i in ids)


async def test_message_external_id_is_unique_per_channel(
    database: Database, cipher: FieldCipher
) -> None:
    async with database.session() as session, session.begin():
        person = await queries.find_or_create_person(session, cipher, "api", "m1")
        assert await queries.insert_inbound(session, _inbound(person.id, "x-1")) is not None
        assert await queries.insert_inbound(session, _inbound(person.id, "x-1")) is None
        other = _inbound(person.id, "x-1")
        other.channel = "wechat_mp"
        assert await queries.insert_inbound(session, other) is not None
        # Messages without an external id are never treated as duplicates.
        assert await queries.insert_inbound(session, _inbound(person.id, None)) is not None
        assert await queries.insert_inbound(session, _inbound(person.id, None)) is not None


async def test_many_messages_stored_together_skip_the_ones_stored_before(
    database: Database, cipher: FieldCipher
) -> None:
    # More rows than one statement takes parameters (a transcript of 2,000 segments).
    async with database.write() as session:
        person = await queries.find_or_create_person(session, cipher, "api", "many")
        assert await queries.insert_inbound(session, _inbound(person.id, "m-7")) is not None
        rows = [_inbound(person.id, f"m-{n}", text=f"第{n}段") for n in range(2_100)]
        stored = await queries.insert_all_inbound(session, rows)
    assert stored[7] is None, "stored before"
    assert all(m is not None and m.text == f"第{n}段" for n, m in enumerate(stored) if n != 7)
    assert len({m.id for m in stored if m is not None}) == 2_099
    async with database.session() as session:
        again = await queries.find_message(session, "api", "m-2099")
    assert again.id == stored[2_099].id and again.text == "第2099段"


async def test_times_come_back_aware_in_utc(database: Database, cipher: FieldCipher) -> None:
    shanghai = timezone(timedelta(hours=8))
    sent = datetime(2026, 5, 1, 20, 30, tzinfo=shanghai)
    async with database.session() as session, session.begin():
        person = await queries.find_or_create_person(session, cipher, "api", "tz")
        message = await queries.insert_inbound(session, _inbound(person.id, "t", sent_at=sent))
        message_id = message.id
    async with database.session() as session:
        loaded = await queries.get_message(session, message_id)
    assert loaded.sent_at == sent
    assert loaded.sent_at.tzinfo is not None and loaded.sent_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(database: Database, cipher: FieldCipher) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with database.session() as session, session.begin():
            person = await queries.find_or_create_person(session, cipher, "api", "naive")
            await queries.insert_inbound(
                session, _inbound(person.id, "n", sent_at=datetime(2026, 1, 1))
            )


async def test_recent_texts_are_windowed_and_oldest_first(
    database: Database, cipher: FieldCipher
) -> None:
    async with database.session() as session, session.begin():
        person = await queries.find_or_create_person(session, cipher, "api", "h")
        for i, minutes_ago in enumerate([300, 50, 20, 10, 0]):
            await queries.insert_inbound(
                session,
                _inbound(
                    person.id, f"h{i}", f"第{i}条", received_at=NOW - timedelta(minutes=minutes_ago)
                ),
            )
            if i == 3:  # a picture in between: no words to weigh
                picture = _inbound(person.id, "p", "", content_type="image", received_at=NOW)
                await queries.insert_inbound(session, picture)
        last = await queries.find_message(session, "api", "h4")
        texts = await queries.recent_inbound_texts(
            session, person.id, before_id=last.id, since=NOW - timedelta(minutes=60), limit=2
        )
    assert texts == ["第2条", "第3条"]


async def test_a_follow_up_is_claimed_exactly_once(database: Database, cipher: FieldCipher) -> None:
    async with database.session() as session, session.begin():
        person = await queries.find_or_create_person(session, cipher, "api", "f")
        follow_up = FollowUp(
            person_id=person.id,
            channel="api",
            kind="check_in",
            status=FollowUpStatus.SCHEDULED,
            due_at=NOW,
        )
        session.add(follow_up)

    async def claim() -> bool:
        async with database.write() as session:
            return await queries.claim_follow_up(session, follow_up.id, NOW)

    results = await asyncio.gather(*(claim() for _ in range(4)), return_exceptions=True)
    assert [r for r in results if r is True] == [True]
    async with database.session() as session:
        stored = await queries.get_follow_up(session, follow_up.id)
    assert stored.status == FollowUpStatus.FIRING and stored.attempts == 1


async def test_a_message_names_the_escalation_it_joined_and_older_ones_the_one_they_opened(
    database: Database, cipher: FieldCipher
) -> None:
    async with database.write() as session:
        person = await queries.find_or_create_person(session, cipher, "api", "e")
        opener = await queries.insert_inbound(session, _inbound(person.id, "e-1"))
        joiner = await queries.insert_inbound(session, _inbound(person.id, "e-2"))
        escalation = Escalation(
            person_id=person.id,
            message_id=opener.id,
            priority="P1",
            reason="r",
            risk_level="high",
            status="open",
            created_at=NOW,
            updated_at=NOW,
            sla_deadline=NOW,
        )
        session.add(escalation)
        await session.flush()
        # The opener as handled before migration 0004 (no link); the joiner as handled now.
        opener.status = joiner.status = MessageStatus.HANDLED
        joiner.escalation_id = escalation.id
    async with database.session() as session:
        for message_id in (opener.id, joiner.id):
            found = await queries.escalation_of(
                session, await queries.get_message(session, message_id)
            )
            assert found is not None and found.id == escalation.id


async def test_writers_that_read_first_never_meet_a_locked_database(
    database: Database, cipher: FieldCipher
) -> None:
    # On SQLite a transaction that reads and then writes fails at once with "database is
    # locked" when another writer got in between; write() must queue them instead.
    async with database.write() as session:
        person = await queries.find_or_create_person(session, cipher, "api", "busy")

    async def read_then_write(i: int) -> None:
        async with database.write() as session:
            await queries.recent_inbound_texts(
                session, person.id, before_id=10**9, since=NOW - timedelta(days=1), limit=5
            )
            await asyncio.sleep(0)  # let the others start their transactions meanwhile
            await queries.insert_inbound(session, _inbound(person.id, f"busy-{i}"))

    await asyncio.gather(*(read_then_write(i) for i in range(20)))
    async with database.session() as session:
        texts = await queries.recent_inbound_texts(
            session, person.id, before_id=10**9, since=NOW - timedelta(days=1), limit=50
        )
    assert len(texts) == 20


async def test_ping_reports_a_reachable_database(database: Database) -> None:
    assert await database.ping()
