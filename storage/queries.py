"""Every query Careline makes. No SQL lives anywhere else.

The statements every message runs (``_UPPER_CASE``) are built once, over the tables' columns
with bound parameters, and run through ``storage.direct`` (straight on the SQLite writer's
connection, through SQLAlchemy elsewhere); they read and write plain records
(``storage.records``), never ORM instances. Everything else uses the ORM session.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.direct import Executor, Tx, executor
from storage.fieldcrypt import FieldCipher
from storage.models import (
    AuditEvent,
    Classification,
    Contact,
    Direction,
    Escalation,
    EscalationStatus,
    FollowUp,
    FollowUpStatus,
    Identity,
    LateReply,
    LateReplyStatus,
    Message,
    MessageStatus,
    Person,
    StaffUser,
)
from storage.records import (
    ClassificationRecord,
    ContactRecord,
    EscalationRecord,
    FollowUpRecord,
    MessageRecord,
    PersonRecord,
    columns,
)

_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud on the phone
UNRESOLVED = (EscalationStatus.OPEN, EscalationStatus.NOTIFIED, EscalationStatus.ACKNOWLEDGED)


def new_pseudonym() -> str:
    return "M-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))


# --- people -----------------------------------------------------------------------------------
# The statements every message runs are module constants over the tables' columns, with bound
# parameters: ``storage.direct`` compiles each once and runs it on the SQLite writer directly.

_PERSON = Person.__table__  # type: ignore[attr-defined]
_IDENTITY = Identity.__table__  # type: ignore[attr-defined]
_MESSAGE = Message.__table__  # type: ignore[attr-defined]
_CONTACT = Contact.__table__  # type: ignore[attr-defined]
_ESCALATION = Escalation.__table__  # type: ignore[attr-defined]
_FOLLOW_UP = FollowUp.__table__  # type: ignore[attr-defined]
_CLASSIFICATION = Classification.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]


def _values(table: Table) -> dict[str, Any]:
    """Every column but the id, each a parameter named by its key."""
    return {c.key: bindparam(c.key) for c in table.c if c.key != "id"}


def _insert(table: Table) -> Insert:
    return insert(table).values(_values(table))


def _insert_returning_id(table: Table) -> Insert:
    return _insert(table).returning(table.c.id)


_PERSON_BY_IDENTITY = (
    select(*_PERSON.c)
    .join(_IDENTITY, _IDENTITY.c.person_id == _PERSON.c.id)
    .where(_IDENTITY.c.kind == bindparam("kind"), _IDENTITY.c.lookup_hash == bindparam("lookup"))
)


async def find_person(
    session: Tx, cipher: FieldCipher, kind: str, value: str
) -> PersonRecord | None:
    lookup = cipher.lookup_hash(kind, value)
    return await _person_by_lookup(await executor(session), kind, lookup)


async def _person_by_lookup(sql: Executor, kind: str, lookup: str) -> PersonRecord | None:
    row = await sql.first(_PERSON_BY_IDENTITY, {"kind": kind, "lookup": lookup})
    return PersonRecord(**row) if row is not None else None


async def find_or_create_person(
    session: Tx, cipher: FieldCipher, kind: str, value: str
) -> PersonRecord:
    """The person behind an identity, created on first contact."""
    return (await find_or_add_person(session, cipher, kind, value))[0]


async def find_or_add_person(
    session: Tx,
    cipher: FieldCipher,
    kind: str,
    value: str,
    *,
    pseudonyms: Callable[[], str] = new_pseudonym,
) -> tuple[PersonRecord, bool]:
    """The person behind an identity, and whether this call created her (first contact).

    Two first messages racing each other (on PostgreSQL, or from two processes) meet at the
    identity's unique constraint: the loser's identity is not inserted, so it drops the person
    it just created and takes the winner's (not created, then).
    """
    sql = await executor(session)
    lookup = cipher.lookup_hash(kind, value)
    if person := await _person_by_lookup(sql, kind, lookup):
        return person, False
    person = await _insert_person(sql, pseudonyms)
    identity = {
        "person_id": person.id,
        "kind": kind,
        "lookup_hash": lookup,
        "value_encrypted": cipher.encrypt(value, context=kind),
        "created_at": person.created_at,
    }
    if await sql.scalar(_insert_unless_duplicate(sql, _IDENTITY), identity) is None:
        await sql.execute(_DELETE_PERSON, {"id": person.id})
        found = await _person_by_lookup(sql, kind, lookup)
        assert found is not None, "the identity that won the race is there"
        return found, False
    return person, True


# A random pseudonym already taken (one in ~10^9 per person) is drawn again, not an error on
# her first message.
PSEUDONYM_DRAWS = 8


async def _insert_person(sql: Executor, pseudonyms: Callable[[], str]) -> PersonRecord:
    insert_person = _insert_unless_duplicate(sql, _PERSON)
    for _ in range(PSEUDONYM_DRAWS):
        person = PersonRecord(pseudonym=pseudonyms())
        person.id = await sql.scalar(insert_person, columns(person))
        if person.id is not None:
            return person
    raise RuntimeError(f"no free pseudonym in {PSEUDONYM_DRAWS} draws")


_DELETE_PERSON = delete(_PERSON).where(_PERSON.c.id == bindparam("id"))


async def identities_of(session: AsyncSession, person_id: int) -> Sequence[Identity]:
    return (await session.scalars(select(Identity).where(Identity.person_id == person_id))).all()


# --- messages ---------------------------------------------------------------------------------


async def insert_inbound(session: Tx, message: MessageRecord) -> MessageRecord | None:
    """Store an inbound message (giving it its id); None when (channel, external id) was seen
    before."""
    sql = await executor(session)
    message_id = await sql.scalar(_insert_unless_duplicate(sql, _MESSAGE), columns(message))
    if message_id is None:
        return None
    message.id = message_id
    return message


_MESSAGE_BY_EXTERNAL_ID = select(*_MESSAGE.c).where(
    _MESSAGE.c.channel == bindparam("channel"), _MESSAGE.c.external_id == bindparam("external_id")
)


async def find_message(session: Tx, channel: str, external_id: str) -> MessageRecord | None:
    row = await (await executor(session)).first(
        _MESSAGE_BY_EXTERNAL_ID, {"channel": channel, "external_id": external_id}
    )
    return MessageRecord(**row) if row is not None else None


async def get_message(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def insert_reply(session: Tx, values: dict[str, Any]) -> None:
    """Store an outbound message (``values``: Message columns; the model's defaults fill in)."""
    await (await executor(session)).execute(_INSERT_MESSAGE, columns(MessageRecord(**values)))


async def mark_handled(
    session: Tx, message_id: int, contact_id: int | None, escalation_id: int | None = None
) -> None:
    """The inbound message is handled, as part of this contact and escalation (if any)."""
    await (await executor(session)).execute(
        _MARK_HANDLED,
        {
            "message_id": message_id,
            "handled": MessageStatus.HANDLED,
            "contact": contact_id,
            "escalation": escalation_id,
        },
    )


_INSERT_MESSAGE = _insert(_MESSAGE)
_MARK_HANDLED = (
    update(_MESSAGE)
    .where(_MESSAGE.c.id == bindparam("message_id"))
    .values(
        status=bindparam("handled"),
        contact_id=bindparam("contact"),
        escalation_id=bindparam("escalation"),
    )
)


_RECENT_INBOUND_TEXTS = (
    select(_MESSAGE.c.text)
    .where(
        _MESSAGE.c.person_id == bindparam("person_id"),
        _MESSAGE.c.direction == Direction.IN,
        _MESSAGE.c.text != "",  # a picture or an untranscribed voice message says nothing here
        _MESSAGE.c.id < bindparam("before_id"),
        _MESSAGE.c.received_at >= bindparam("since"),
    )
    .order_by(_MESSAGE.c.id.desc())
    .limit(bindparam("limit"))
)


async def recent_inbound_texts(
    session: Tx, person_id: int, *, before_id: int, since: datetime, limit: int
) -> list[str]:
    """The person's earlier inbound texts in the window, oldest first."""
    if limit <= 0:
        return []
    rows = await (await executor(session)).all(
        _RECENT_INBOUND_TEXTS,
        {"person_id": person_id, "before_id": before_id, "since": since, "limit": limit},
    )
    return [row["text"] for row in reversed(rows)]


async def unhandled_inbound(session: AsyncSession) -> Sequence[Message]:
    return (
        await session.scalars(
            select(Message)
            .where(Message.direction == Direction.IN, Message.status == MessageStatus.RECEIVED)
            .order_by(Message.id)
        )
    ).all()


async def reply_to(session: AsyncSession, message_id: int) -> Message | None:
    return await session.scalar(
        select(Message)
        .where(Message.reply_to_id == message_id, Message.direction == Direction.OUT)
        .order_by(Message.id)
        .limit(1)
    )


async def insert_classification(session: Tx, values: dict[str, Any]) -> None:
    """Store a classification (``values``: its columns; the model's defaults fill in)."""
    await (await executor(session)).execute(
        _INSERT_CLASSIFICATION, columns(ClassificationRecord(**values))
    )


_INSERT_CLASSIFICATION = _insert(_CLASSIFICATION)


async def classification_of(session: AsyncSession, message_id: int) -> Classification | None:
    return await session.scalar(
        select(Classification).where(Classification.message_id == message_id)
    )


# --- contacts ---------------------------------------------------------------------------------


_ONGOING_CONTACT = (
    select(*_CONTACT.c)
    .where(
        _CONTACT.c.person_id == bindparam("person_id"),
        _CONTACT.c.service_type == bindparam("service_type"),
        _CONTACT.c.channel == bindparam("channel"),
        _CONTACT.c.ended_at >= bindparam("since"),
    )
    .order_by(_CONTACT.c.ended_at.desc())
    .limit(1)
)


async def ongoing_contact(
    session: Tx, person_id: int, service_type: str, channel: str, since: datetime
) -> ContactRecord | None:
    """The person's contact of this type that was still going on at ``since``, if any."""
    row = await (await executor(session)).first(
        _ONGOING_CONTACT,
        {"person_id": person_id, "service_type": service_type, "channel": channel, "since": since},
    )
    return ContactRecord(**row) if row is not None else None


async def insert_contact(session: Tx, contact: ContactRecord) -> None:
    """Insert a new contact, giving the record its id."""
    contact.id = await (await executor(session)).scalar(_INSERT_CONTACT, columns(contact))


async def update_contact(session: Tx, contact: ContactRecord) -> None:
    """Write back what a further message changes in a contact going on."""
    await (await executor(session)).execute(
        _UPDATE_CONTACT,
        {
            "contact_id": contact.id,
            "ended_at": contact.ended_at,
            "message_count": contact.message_count,
            "intent": contact.intent,
            "summary": contact.summary,
        },
    )


_INSERT_CONTACT = _insert_returning_id(_CONTACT)
_UPDATE_CONTACT = (
    update(_CONTACT)
    .where(_CONTACT.c.id == bindparam("contact_id"))
    .values(
        ended_at=bindparam("ended_at"),
        message_count=bindparam("message_count"),
        intent=bindparam("intent"),
        summary=bindparam("summary"),
    )
)


async def count_contacts(
    session: AsyncSession, *, start: datetime, end: datetime
) -> dict[str, int]:
    """人次 per service type for contacts started in [start, end)."""
    rows = await session.execute(
        select(Contact.service_type, func.count())
        .where(Contact.started_at >= start, Contact.started_at < end)
        .group_by(Contact.service_type)
    )
    return {service_type: count for service_type, count in rows.all()}


# --- escalations ------------------------------------------------------------------------------


_UNRESOLVED_ESCALATION = (
    select(*_ESCALATION.c)
    .where(
        _ESCALATION.c.person_id == bindparam("person_id"),
        or_(*(_ESCALATION.c.status == status for status in UNRESOLVED)),
    )
    .order_by(_ESCALATION.c.id.desc())
    .limit(1)
)


async def unresolved_escalation(session: Tx, person_id: int) -> EscalationRecord | None:
    row = await (await executor(session)).first(_UNRESOLVED_ESCALATION, {"person_id": person_id})
    return EscalationRecord(**row) if row is not None else None


async def insert_escalation(session: Tx, escalation: EscalationRecord) -> None:
    """Insert a new escalation, giving the record its id."""
    escalation.id = await (await executor(session)).scalar(_INSERT_ESCALATION, columns(escalation))


async def raise_escalation(session: Tx, escalation: EscalationRecord) -> None:
    """Write back a raised priority (and what goes with it) or a newer ``updated_at``."""
    await (await executor(session)).execute(
        _RAISE_ESCALATION,
        {
            "escalation_id": escalation.id,
            "priority": escalation.priority,
            "reason": escalation.reason,
            "risk_level": escalation.risk_level,
            "sla_deadline": escalation.sla_deadline,
            "updated_at": escalation.updated_at,
        },
    )


_INSERT_ESCALATION = _insert_returning_id(_ESCALATION)
_RAISE_ESCALATION = (
    update(_ESCALATION)
    .where(_ESCALATION.c.id == bindparam("escalation_id"))
    .values(
        priority=bindparam("priority"),
        reason=bindparam("reason"),
        risk_level=bindparam("risk_level"),
        sla_deadline=bindparam("sla_deadline"),
        updated_at=bindparam("updated_at"),
    )
)


async def escalation_of(session: AsyncSession, message: Message) -> Escalation | None:
    """The escalation a handled message opened or joined."""
    if message.escalation_id is not None:
        return await session.get(Escalation, message.escalation_id)
    # Handled before messages named their escalation (migration 0004): the one it opened.
    return await session.scalar(
        select(Escalation).where(Escalation.message_id == message.id).limit(1)
    )


async def unnotified_escalations(session: AsyncSession) -> Sequence[Escalation]:
    return (
        await session.scalars(select(Escalation).where(Escalation.status == EscalationStatus.OPEN))
    ).all()


_MARK_NOTIFIED = (
    update(_ESCALATION)
    .where(
        _ESCALATION.c.id == bindparam("escalation_id"),
        _ESCALATION.c.status == EscalationStatus.OPEN,
    )
    .values(
        status=EscalationStatus.NOTIFIED, notified_at=bindparam("at"), updated_at=bindparam("at")
    )
)


async def mark_notified(session: Tx, escalation_id: int, at: datetime) -> bool:
    changed = await (await executor(session)).execute(
        _MARK_NOTIFIED, {"escalation_id": escalation_id, "at": at}
    )
    return changed == 1


# --- follow-ups -------------------------------------------------------------------------------


async def follow_ups_for_message(session: AsyncSession, message_id: int) -> Sequence[FollowUp]:
    return (
        await session.scalars(
            select(FollowUp).where(FollowUp.message_id == message_id).order_by(FollowUp.id)
        )
    ).all()


async def pending_follow_ups(session: AsyncSession) -> Sequence[FollowUp]:
    return (
        await session.scalars(select(FollowUp).where(FollowUp.status == FollowUpStatus.SCHEDULED))
    ).all()


async def claim_follow_up(session: AsyncSession, follow_up_id: int, at: datetime) -> bool:
    """Atomically move one follow-up from scheduled to firing. Exactly one caller wins."""
    result = await session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up_id, FollowUp.status == FollowUpStatus.SCHEDULED)
        .values(status=FollowUpStatus.FIRING, fired_at=at, attempts=FollowUp.attempts + 1)
    )
    return result.rowcount == 1


async def get_follow_up(session: AsyncSession, follow_up_id: int) -> FollowUp | None:
    return await session.get(FollowUp, follow_up_id)


# --- staff and audit --------------------------------------------------------------------------


async def count_staff(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(StaffUser)) or 0)


async def find_staff(session: AsyncSession, username: str) -> StaffUser | None:
    return await session.scalar(select(StaffUser).where(StaffUser.username == username))


async def audit(
    session: Tx,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: int | None,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    await (await executor(session)).execute(
        _INSERT_AUDIT,
        {
            "at": at,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "detail": detail or {},
        },
    )


_INSERT_AUDIT = _insert(_AUDIT)


_PENDING_FOLLOW_UP_OF_KIND = (
    select(*_FOLLOW_UP.c)
    .where(
        _FOLLOW_UP.c.person_id == bindparam("person_id"),
        _FOLLOW_UP.c.kind == bindparam("kind"),
        _FOLLOW_UP.c.status == FollowUpStatus.SCHEDULED,
    )
    .order_by(_FOLLOW_UP.c.due_at)
    .limit(1)
)


async def pending_follow_up_of_kind(
    session: Tx, person_id: int, kind: str
) -> FollowUpRecord | None:
    row = await (await executor(session)).first(
        _PENDING_FOLLOW_UP_OF_KIND, {"person_id": person_id, "kind": kind}
    )
    return FollowUpRecord(**row) if row is not None else None


async def insert_follow_up(session: Tx, follow_up: FollowUpRecord) -> None:
    """Insert a new follow-up, giving the record its id."""
    follow_up.id = await (await executor(session)).scalar(_INSERT_FOLLOW_UP, columns(follow_up))


_INSERT_FOLLOW_UP = _insert_returning_id(_FOLLOW_UP)


async def interrupted_follow_ups(session: AsyncSession) -> Sequence[FollowUp]:
    """Follow-ups claimed by a run that stopped before finishing them."""
    return (
        await session.scalars(select(FollowUp).where(FollowUp.status == FollowUpStatus.FIRING))
    ).all()


async def get_escalation(session: AsyncSession, escalation_id: int) -> Escalation | None:
    return await session.get(Escalation, escalation_id)


async def get_person(session: AsyncSession, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


async def schema_revision(session: AsyncSession) -> str | None:
    """The Alembic revision the database is at, or None before the first migration."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        async with session.begin_nested():
            return await session.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return None


# --- late replies (owed through the WeChat / WeCom API) -------------------------------------


async def claim_late_reply(session: AsyncSession, claim: LateReply) -> bool:
    """Record that this message's reply goes out through the API; False if already claimed."""
    try:
        async with session.begin_nested():
            session.add(claim)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def late_reply_claimed(session: AsyncSession, channel: str, external_id: str) -> bool:
    found = await session.scalar(
        select(LateReply.id).where(
            LateReply.channel == channel, LateReply.external_id == external_id
        )
    )
    return found is not None


async def pending_late_replies(session: AsyncSession, channel: str) -> Sequence[LateReply]:
    return (
        await session.scalars(
            select(LateReply)
            .where(LateReply.channel == channel, LateReply.status == LateReplyStatus.PENDING)
            .order_by(LateReply.id)
        )
    ).all()


async def finish_late_reply(
    session: AsyncSession,
    late_reply_id: int,
    status: LateReplyStatus,
    at: datetime,
    *,
    attempts: int,
) -> None:
    await session.execute(
        update(LateReply)
        .where(LateReply.id == late_reply_id)
        .values(status=status, attempts=LateReply.attempts + attempts, finished_at=at)
    )


# --- inserting unless a duplicate -----------------------------------------------------------
# Skipping a duplicate in the database spares a savepoint for what is a normal outcome: a
# retried delivery, or two first messages of the same new mother.


def _insert_unless_duplicate(sql: Executor, table: Table) -> Insert:
    """INSERT ... RETURNING id that inserts nothing (and returns no row) for a duplicate."""
    if sql.dialect_name == "postgresql":
        return _POSTGRESQL_ON_CONFLICT_DO_NOTHING[table.name]
    # SQLite's own spelling (its dialect's ON CONFLICT statement is never cached). OR IGNORE
    # would also skip a NOT NULL violation, which the records' defaults rule out.
    return _SQLITE_INSERT_OR_IGNORE[table.name]


_SQLITE_INSERT_OR_IGNORE = {
    table.name: insert(table).prefix_with("OR IGNORE").values(_values(table)).returning(table.c.id)
    for table in (_MESSAGE, _IDENTITY, _PERSON)
}
_POSTGRESQL_ON_CONFLICT_DO_NOTHING = {
    table.name: postgresql_insert(table)
    .values(_values(table))
    .on_conflict_do_nothing()
    .returning(table.c.id)
    for table in (_MESSAGE, _IDENTITY, _PERSON)
}
