"""storage.direct: Core statements run on the SQLite writer's connection give what SQLAlchemy
gives, inside the right transaction, with SQLAlchemy's errors."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, OperationalError

from storage import queries
from storage.db import Database
from storage.direct import Direct, ThroughSession, executor, prepare
from storage.fieldcrypt import FieldCipher
from storage.models import (
    AuditEvent,
    Classification,
    Contact,
    Direction,
    Escalation,
    FollowUp,
    Message,
    MessageStatus,
)
from storage.records import ContactRecord, EscalationRecord, FollowUpRecord, MessageRecord

# Not UTC, with microseconds: a time zone or precision lost on the way would show.
AT = datetime(2026, 5, 1, 20, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(os.urandom(32))


async def _message(db: Database, cipher: FieldCipher, mother: str = "m") -> MessageRecord:
    async with db.transaction() as tx:
        person, _ = await queries.find_or_add_person(tx, cipher, "api", mother)
        message = await queries.insert_inbound(
            tx,
            MessageRecord(
                person_id=person.id,
                channel="api",
                external_id=f"{mother}-1",
                direction=Direction.IN,
                status=MessageStatus.RECEIVED,
                text="我想找社工聊聊",
                addressed=False,
                sent_at=AT,
                received_at=AT,
            ),
        )
    assert message is not None
    return message


async def test_rows_written_directly_read_back_the_same_through_the_orm(
    database: Database, cipher: FieldCipher
) -> None:
    message = await _message(database, cipher)
    async with database.transaction() as tx:
        await queries.insert_classification(
            tx,
            {
                "message_id": message.id,
                "intent": "request_human",
                "confidence": 0.875,
                "risk_level": "none",
                "risk_reasons": ["理由"],
                "entities": [{"entity": "time", "value": "2026-05-02T15:00:00+08:00"}],
                "intent_ranking": [{"name": "request_human", "confidence": 0.875}],
                "model_version": "v1",
                "created_at": AT,
            },
        )
        contact = ContactRecord(
            person_id=message.person_id,
            channel="api",
            service_type="陪伴式",
            intent="request_human",
            started_at=AT,
            ended_at=AT,
        )
        await queries.insert_contact(tx, contact)
        await queries.audit(
            tx,
            actor="careline",
            action="test",
            object_type="contact",
            object_id=contact.id,
            at=AT,
            detail={"键": [1, 2]},
        )
    async with database.session() as session:
        stored = await session.get(Message, message.id)
        classification = await session.scalar(
            select(Classification).where(Classification.message_id == message.id)
        )
        orm_contact = await session.get(Contact, contact.id)
        audit = await session.scalar(select(AuditEvent).where(AuditEvent.action == "test"))
    assert stored is not None and stored.received_at == AT and stored.addressed is False
    assert stored.text == "我想找社工聊聊" and stored.received_at.tzinfo is not None
    assert classification is not None and classification.risk_reasons == ["理由"]
    assert classification.intent_ranking == [{"name": "request_human", "confidence": 0.875}]
    assert orm_contact is not None and orm_contact.started_at == AT
    assert orm_contact.message_count == 1 and orm_contact.handled_by == "careline"
    assert audit is not None and audit.detail == {"键": [1, 2]} and audit.at == AT


async def test_rows_read_directly_equal_what_the_orm_reads(
    database: Database, cipher: FieldCipher
) -> None:
    message = await _message(database, cipher)
    async with database.write() as session:
        session.add(
            Escalation(
                person_id=message.person_id,
                message_id=message.id,
                priority="P1",
                reason="r",
                risk_level="high",
                status="notified",
                created_at=AT,
                updated_at=AT,
                sla_deadline=AT + timedelta(minutes=15),
            )
        )
        session.add(
            FollowUp(
                person_id=message.person_id,
                message_id=message.id,
                channel="api",
                kind="check_in",
                status="scheduled",
                due_at=AT + timedelta(hours=24),
                created_at=AT,
            )
        )
    async with database.transaction() as tx:
        escalation = await queries.unresolved_escalation(tx, message.person_id)
        follow_up = await queries.pending_follow_up_of_kind(tx, message.person_id, "check_in")
        found = await queries.find_message(tx, "api", message.external_id)
    async with database.session() as session:
        orm_escalation = await session.scalar(select(Escalation))
        orm_follow_up = await session.scalar(select(FollowUp))
        orm_message = await session.get(Message, message.id)
    assert isinstance(escalation, EscalationRecord) and isinstance(follow_up, FollowUpRecord)
    for record, orm in ((escalation, orm_escalation), (follow_up, orm_follow_up)):
        assert vars(record) == {name: getattr(orm, name) for name in vars(record)}
    assert vars(found) == {name: getattr(orm_message, name) for name in vars(found)}


async def test_a_transaction_that_fails_leaves_nothing(
    database: Database, cipher: FieldCipher
) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction() as tx:
            await queries.find_or_add_person(tx, cipher, "api", "gone")
            raise RuntimeError("handler failed")
    async with database.session() as session:
        assert await queries.find_person(session, cipher, "api", "gone") is None


async def test_database_errors_are_sqlalchemys_on_every_path(
    database: Database, cipher: FieldCipher
) -> None:
    message = await _message(database, cipher)
    with pytest.raises(IntegrityError):  # classification.message_id is unique
        async with database.transaction() as tx:
            for _ in range(2):
                await queries.insert_classification(
                    tx,
                    {
                        "message_id": message.id,
                        "intent": "greet",
                        "confidence": 1.0,
                        "risk_level": "none",
                        "model_version": "v",
                    },
                )


async def test_the_sqlite_writer_runs_directly_and_the_readers_through_sqlalchemy(
    sqlite_url: URL,
) -> None:
    database = Database(sqlite_url)
    try:
        async with database.transaction() as tx:
            assert isinstance(tx, Direct)
        async with database.write() as session:
            assert isinstance(await executor(session), Direct)
        async with database.session() as session:
            assert isinstance(await executor(session), ThroughSession)
    finally:
        await database.close()


async def test_a_missing_database_file_is_an_operational_error(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()  # a directory where the file should be
    database = Database(URL.create("sqlite+aiosqlite", database=str(tmp_path / "db")))
    try:
        with pytest.raises(OperationalError):
            async with database.transaction():
                pass
    finally:
        await database.close()


async def test_a_writer_in_another_process_is_waited_for(
    sqlite_url: URL, cipher: FieldCipher
) -> None:
    database = Database(sqlite_url)
    other = sqlite3.connect(sqlite_url.database, isolation_level=None)  # the CLI, say
    try:
        other.execute("BEGIN IMMEDIATE")

        async def write() -> None:
            async with database.transaction() as tx:
                await queries.find_or_add_person(tx, cipher, "api", "waits")

        task = asyncio.ensure_future(write())
        for _ in range(5):  # its first BEGIN IMMEDIATE met the lock: it waits, not fails
            await asyncio.sleep(0)
        assert not task.done()
        other.execute("COMMIT")
        await task
        async with database.session() as session:
            assert await queries.find_person(session, cipher, "api", "waits") is not None
    finally:
        other.close()
        await database.close()


def test_statements_with_a_list_of_parameters_are_refused() -> None:
    from sqlalchemy.dialects import sqlite

    statement = select(Message.id).where(Message.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(TypeError, match="IN list"):
        prepare(statement, sqlite.dialect())


def test_a_missing_parameter_is_named() -> None:
    from sqlalchemy.dialects import sqlite

    statement = select(Message.id).where(Message.id == bindparam("message_id"))
    with pytest.raises(KeyError, match="message_id"):
        prepare(statement, sqlite.dialect()).bind({})
