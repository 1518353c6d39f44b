"""Every query Careline makes. No SQL lives anywhere else.

The queries every message makes (``_UPPER_CASE``) are built once, with bound parameters:
building a statement costs SQLAlchemy more than SQLite takes to run it (~150 us against
~30 us), and a statement built once keeps its cache key.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import SQLModel

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

_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud on the phone
UNRESOLVED = (EscalationStatus.OPEN, EscalationStatus.NOTIFIED, EscalationStatus.ACKNOWLEDGED)


def new_pseudonym() -> str:
    return "M-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))


# --- people -----------------------------------------------------------------------------------


_PERSON_BY_IDENTITY = (
    select(Person)
    .join(Identity, Identity.person_id == Person.id)
    .where(Identity.kind == bindparam("kind"), Identity.lookup_hash == bindparam("lookup"))
)


async def find_person(
    session: AsyncSession, cipher: FieldCipher, kind: str, value: str
) -> Person | None:
    lookup = cipher.lookup_hash(kind, value)
    return await session.scalar(_PERSON_BY_IDENTITY, {"kind": kind, "lookup": lookup})


async def find_or_create_person(
    session: AsyncSession, cipher: FieldCipher, kind: str, value: str
) -> Person:
    """The person behind an identity, created on first contact."""
    return (await find_or_add_person(session, cipher, kind, value))[0]


async def find_or_add_person(
    session: AsyncSession,
    cipher: FieldCipher,
    kind: str,
    value: str,
    *,
    pseudonyms: Callable[[], str] = new_pseudonym,
) -> tuple[Person, bool]:
    """The person behind an identity, and whether this call created her (first contact).

    Two first messages racing each other (on PostgreSQL, or from two processes) meet at the
    identity's unique constraint: the loser's identity is not inserted, so it drops the person
    it just created and takes the winner's (not created, then).
    """
    lookup = cipher.lookup_hash(kind, value)
    if person := await session.scalar(_PERSON_BY_IDENTITY, {"kind": kind, "lookup": lookup}):
        return person, False
    person = await _insert_person(session, pseudonyms)
    identity = {
        "person_id": person.id,
        "kind": kind,
        "lookup_hash": lookup,
        "value_encrypted": cipher.encrypt(value, context=kind),
    }
    inserted = await session.scalar(
        _insert_unless_duplicate(session, Identity), _with_defaults(Identity, identity)
    )
    if inserted is None:
        await session.execute(_DELETE_PERSON, {"id": person.id})
        found = await find_person(session, cipher, kind, value)
        assert found is not None, "the identity that won the race is there"
        return found, False
    make_transient_to_detached(person)  # as if read back
    return person, True


# A random pseudonym already taken (one in ~10^9 per person) is drawn again, not an error on
# her first message.
PSEUDONYM_DRAWS = 8


async def _insert_person(session: AsyncSession, pseudonyms: Callable[[], str]) -> Person:
    insert_person = _insert_unless_duplicate(session, Person)
    for _ in range(PSEUDONYM_DRAWS):
        person = Person(pseudonym=pseudonyms())
        person.id = await session.scalar(insert_person, _row(person))
        if person.id is not None:
            return person
    raise RuntimeError(f"no free pseudonym in {PSEUDONYM_DRAWS} draws")


_DELETE_PERSON = delete(Person.__table__).where(Person.__table__.c.id == bindparam("id"))  # type: ignore[attr-defined]


async def identities_of(session: AsyncSession, person_id: int) -> Sequence[Identity]:
    return (await session.scalars(select(Identity).where(Identity.person_id == person_id))).all()


# --- messages ---------------------------------------------------------------------------------


async def insert_inbound(session: AsyncSession, message: Message) -> Message | None:
    """Store an inbound message; None when (channel, external id) was seen before."""
    message_id = await session.scalar(_insert_unless_duplicate(session, Message), _row(message))
    if message_id is None:
        return None
    message.id = message_id
    make_transient_to_detached(message)  # as if read back: a session can take it to update it
    return message


_MESSAGE_BY_EXTERNAL_ID = select(Message).where(
    Message.channel == bindparam("channel"), Message.external_id == bindparam("external_id")
)


async def find_message(session: AsyncSession, channel: str, external_id: str) -> Message | None:
    return await session.scalar(
        _MESSAGE_BY_EXTERNAL_ID, {"channel": channel, "external_id": external_id}
    )


async def get_message(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def insert_reply(session: AsyncSession, values: dict[str, Any]) -> None:
    """Store an outbound message (``values``: Message columns; the model's defaults fill in)."""
    await session.execute(_INSERT_MESSAGE, _with_defaults(Message, values))


async def mark_handled(session: AsyncSession, message_id: int, contact_id: int | None) -> None:
    """The inbound message is handled, as part of this contact (if any)."""
    await session.execute(
        _MARK_HANDLED,
        {"message_id": message_id, "handled": MessageStatus.HANDLED, "contact": contact_id},
    )


_INSERT_MESSAGE = insert(Message.__table__)  # type: ignore[attr-defined]
_MARK_HANDLED = (
    update(Message.__table__)  # type: ignore[attr-defined]
    .where(Message.__table__.c.id == bindparam("message_id"))  # type: ignore[attr-defined]
    .values(status=bindparam("handled"), contact_id=bindparam("contact"))
)


_RECENT_INBOUND_TEXTS = (
    select(Message.text)
    .where(
        Message.person_id == bindparam("person_id"),
        Message.direction == Direction.IN,
        Message.text != "",  # a picture or an untranscribed voice message says nothing here
        Message.id < bindparam("before_id"),
        Message.received_at >= bindparam("since"),
    )
    .order_by(Message.id.desc())
    .limit(bindparam("limit"))
)


async def recent_inbound_texts(
    session: AsyncSession, person_id: int, *, before_id: int, since: datetime, limit: int
) -> list[str]:
    """The person's earlier inbound texts in the window, oldest first."""
    if limit <= 0:
        return []
    rows = await session.scalars(
        _RECENT_INBOUND_TEXTS,
        {"person_id": person_id, "before_id": before_id, "since": since, "limit": limit},
    )
    return list(reversed(rows.all()))


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


async def insert_classification(session: AsyncSession, values: dict[str, Any]) -> None:
    """Store a classification (``values``: its columns; the model's defaults fill in)."""
    await session.execute(_INSERT_CLASSIFICATION, _with_defaults(Classification, values))


_INSERT_CLASSIFICATION = insert(Classification.__table__)  # type: ignore[attr-defined]


async def classification_of(session: AsyncSession, message_id: int) -> Classification | None:
    return await session.scalar(
        select(Classification).where(Classification.message_id == message_id)
    )


# --- contacts ---------------------------------------------------------------------------------


_ONGOING_CONTACT = (
    select(Contact)
    .where(
        Contact.person_id == bindparam("person_id"),
        Contact.service_type == bindparam("service_type"),
        Contact.channel == bindparam("channel"),
        Contact.ended_at >= bindparam("since"),
    )
    .order_by(Contact.ended_at.desc())
    .limit(1)
)


async def ongoing_contact(
    session: AsyncSession, person_id: int, service_type: str, channel: str, since: datetime
) -> Contact | None:
    """The person's contact of this type that was still going on at ``since``, if any."""
    return await session.scalar(
        _ONGOING_CONTACT,
        {"person_id": person_id, "service_type": service_type, "channel": channel, "since": since},
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
    select(Escalation)
    .where(Escalation.person_id == bindparam("person_id"), Escalation.status.in_(UNRESOLVED))
    .order_by(Escalation.id.desc())
    .limit(1)
)


async def unresolved_escalation(session: AsyncSession, person_id: int) -> Escalation | None:
    return await session.scalar(_UNRESOLVED_ESCALATION, {"person_id": person_id})


async def escalations_for_message(session: AsyncSession, message_id: int) -> Sequence[Escalation]:
    return (
        await session.scalars(select(Escalation).where(Escalation.message_id == message_id))
    ).all()


async def unnotified_escalations(session: AsyncSession) -> Sequence[Escalation]:
    return (
        await session.scalars(select(Escalation).where(Escalation.status == EscalationStatus.OPEN))
    ).all()


_MARK_NOTIFIED = (
    update(Escalation)
    .where(Escalation.id == bindparam("escalation_id"), Escalation.status == EscalationStatus.OPEN)
    .values(
        status=EscalationStatus.NOTIFIED, notified_at=bindparam("at"), updated_at=bindparam("at")
    )
    # The caller updates its own copy (Services.notify); nothing in this session to keep in step.
    .execution_options(synchronize_session=False)
)


async def mark_notified(session: AsyncSession, escalation_id: int, at: datetime) -> bool:
    result = await session.execute(_MARK_NOTIFIED, {"escalation_id": escalation_id, "at": at})
    return result.rowcount == 1


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


def audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: int | None,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail or {},
        )
    )


_PENDING_FOLLOW_UP_OF_KIND = (
    select(FollowUp)
    .where(
        FollowUp.person_id == bindparam("person_id"),
        FollowUp.kind == bindparam("kind"),
        FollowUp.status == FollowUpStatus.SCHEDULED,
    )
    .order_by(FollowUp.due_at)
    .limit(1)
)


async def pending_follow_up_of_kind(
    session: AsyncSession, person_id: int, kind: str
) -> FollowUp | None:
    return await session.scalar(_PENDING_FOLLOW_UP_OF_KIND, {"person_id": person_id, "kind": kind})


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


# --- inserting without the ORM's unit of work -----------------------------------------------
# A plain INSERT costs a fraction of an ORM flush, and skipping a duplicate in the database
# spares a savepoint for what is a normal outcome: a retried delivery.


async def insert_new(session: AsyncSession, instance: Contact | Escalation) -> None:
    """Insert a new row now and give ``instance`` its id (a plain INSERT ... RETURNING id).

    For a handler that needs the id at once: ``session.add`` and ``flush`` cost ~3x as much.
    The instance is left as if read back, so a session can take it to update it.
    """
    table = instance.__table__  # type: ignore[attr-defined]
    instance.id = await session.scalar(_INSERT_RETURNING_ID[table.name], _row(instance))
    make_transient_to_detached(instance)


_INSERT_RETURNING_ID = {
    model.__tablename__: insert(model.__table__).returning(model.__table__.c.id)  # type: ignore[attr-defined]
    for model in (Contact, Escalation)
}


def _insert_unless_duplicate(session: AsyncSession, model: type[SQLModel]) -> Insert:
    """INSERT ... RETURNING id that inserts nothing (and returns no row) for a duplicate."""
    table = model.__table__  # type: ignore[attr-defined]
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        return postgresql_insert(table).on_conflict_do_nothing().returning(table.c.id)
    # SQLite's own spelling. Its dialect's ON CONFLICT statement is never cached, so it is
    # compiled again on every message (~200 us); OR IGNORE would also skip a NOT NULL
    # violation, which these models' defaults rule out.
    return _SQLITE_INSERT_OR_IGNORE[table.name]


_SQLITE_INSERT_OR_IGNORE = {
    model.__tablename__: insert(model.__table__)  # type: ignore[attr-defined]
    .prefix_with("OR IGNORE")
    .returning(model.__table__.c.id)  # type: ignore[attr-defined]
    for model in (Message, Identity, Person)
}


def _with_defaults(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """The row ``model(**values)`` would insert, without building the object (~50 us each)."""
    row = dict(values)
    for key, default, factory in _DEFAULTS[model]:
        if key not in row:
            row[key] = factory() if factory is not None else default
    return row


def _defaults(model: type[SQLModel]) -> list[tuple[str, Any, Any]]:
    # The models' defaults are the model fields' (Python-side), not the columns'.
    fields = model.model_fields
    return [
        (c.key, fields[c.key].default, fields[c.key].default_factory)
        for c in model.__table__.columns  # type: ignore[attr-defined]
        if c.key != "id" and not fields[c.key].is_required()
    ]


_DEFAULTS = {model: _defaults(model) for model in (Message, Classification, Identity)}


def _row(instance: SQLModel) -> dict[str, Any]:
    """An unsaved instance's column values (its defaults filled in), without the id."""
    columns = instance.__table__.columns  # type: ignore[attr-defined]
    return {c.key: getattr(instance, c.key) for c in columns if c.key != "id"}
