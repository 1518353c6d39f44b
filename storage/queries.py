"""Every query Careline makes. No SQL lives anywhere else."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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


async def find_person(
    session: AsyncSession, cipher: FieldCipher, kind: str, value: str
) -> Person | None:
    lookup = cipher.lookup_hash(kind, value)
    return await session.scalar(
        select(Person)
        .join(Identity, Identity.person_id == Person.id)
        .where(Identity.kind == kind, Identity.lookup_hash == lookup)
    )


async def find_or_create_person(
    session: AsyncSession, cipher: FieldCipher, kind: str, value: str
) -> Person:
    """The person behind an identity, created on first contact.

    Two first messages racing each other meet at the identity's unique constraint: the loser
    rolls back its savepoint and takes the winner's person.
    """
    if person := await find_person(session, cipher, kind, value):
        return person
    try:
        async with session.begin_nested():
            person = Person(pseudonym=new_pseudonym())
            session.add(person)
            await session.flush()
            session.add(
                Identity(
                    person_id=person.id,
                    kind=kind,
                    lookup_hash=cipher.lookup_hash(kind, value),
                    value_encrypted=cipher.encrypt(value, context=kind),
                )
            )
            await session.flush()
        return person
    except IntegrityError:
        found = await find_person(session, cipher, kind, value)
        if found is None:
            raise
        return found


async def identities_of(session: AsyncSession, person_id: int) -> Sequence[Identity]:
    return (await session.scalars(select(Identity).where(Identity.person_id == person_id))).all()


# --- messages ---------------------------------------------------------------------------------


async def insert_inbound(session: AsyncSession, message: Message) -> Message | None:
    """Store an inbound message; None when (channel, external id) was seen before."""
    try:
        async with session.begin_nested():
            session.add(message)
            await session.flush()
    except IntegrityError:
        return None
    return message


async def find_message(session: AsyncSession, channel: str, external_id: str) -> Message | None:
    return await session.scalar(
        select(Message).where(Message.channel == channel, Message.external_id == external_id)
    )


async def get_message(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def recent_inbound_texts(
    session: AsyncSession, person_id: int, *, before_id: int, since: datetime, limit: int
) -> list[str]:
    """The person's earlier inbound texts in the window, oldest first."""
    if limit <= 0:
        return []
    rows = await session.scalars(
        select(Message.text)
        .where(
            Message.person_id == person_id,
            Message.direction == Direction.IN,
            Message.id < before_id,
            Message.received_at >= since,
        )
        .order_by(Message.id.desc())
        .limit(limit)
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


async def classification_of(session: AsyncSession, message_id: int) -> Classification | None:
    return await session.scalar(
        select(Classification).where(Classification.message_id == message_id)
    )


# --- contacts ---------------------------------------------------------------------------------


async def ongoing_contact(
    session: AsyncSession, person_id: int, service_type: str, channel: str, since: datetime
) -> Contact | None:
    """The person's contact of this type that was still going on at ``since``, if any."""
    return await session.scalar(
        select(Contact)
        .where(
            Contact.person_id == person_id,
            Contact.service_type == service_type,
            Contact.channel == channel,
            Contact.ended_at >= since,
        )
        .order_by(Contact.ended_at.desc())
        .limit(1)
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


async def unresolved_escalation(session: AsyncSession, person_id: int) -> Escalation | None:
    return await session.scalar(
        select(Escalation)
        .where(Escalation.person_id == person_id, Escalation.status.in_(UNRESOLVED))
        .order_by(Escalation.id.desc())
        .limit(1)
    )


async def escalations_for_message(session: AsyncSession, message_id: int) -> Sequence[Escalation]:
    return (
        await session.scalars(select(Escalation).where(Escalation.message_id == message_id))
    ).all()


async def unnotified_escalations(session: AsyncSession) -> Sequence[Escalation]:
    return (
        await session.scalars(select(Escalation).where(Escalation.status == EscalationStatus.OPEN))
    ).all()


async def mark_notified(session: AsyncSession, escalation_id: int, at: datetime) -> bool:
    result = await session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN)
        .values(status=EscalationStatus.NOTIFIED, notified_at=at, updated_at=at)
    )
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


async def pending_follow_up_of_kind(
    session: AsyncSession, person_id: int, kind: str
) -> FollowUp | None:
    return await session.scalar(
        select(FollowUp)
        .where(
            FollowUp.person_id == person_id,
            FollowUp.kind == kind,
            FollowUp.status == FollowUpStatus.SCHEDULED,
        )
        .order_by(FollowUp.due_at)
        .limit(1)
    )


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
    session: AsyncSession, late_reply_id: int, status: LateReplyStatus, at: datetime
) -> None:
    await session.execute(
        update(LateReply)
        .where(LateReply.id == late_reply_id)
        .values(status=status, attempts=LateReply.attempts + 1, finished_at=at)
    )
