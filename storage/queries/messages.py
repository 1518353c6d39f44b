"""Messages (inbound and outbound) and their classifications."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import String, case, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from storage.models import (
    Classification,
    Direction,
    Escalation,
    Identity,
    Message,
    MessageStatus,
)
from storage.queries._upsert import insert_all_returning, insert_unless_duplicate


async def insert_inbound(session: AsyncSession, message: Message) -> Message | None:
    """Store an inbound message (now in the session, with its id); None when its
    (channel, external id) was stored before."""
    values = message.model_dump(exclude={"id"})
    message_id = await insert_unless_duplicate(
        session,
        Message.__table__,  # type: ignore[attr-defined]
        values,
    )
    if message_id is None:
        return None
    # The row is written: attach the object as it is, without a second INSERT or a SELECT.
    message.id = message_id
    make_transient_to_detached(message)
    session.add(message)
    return message


async def insert_all_inbound(
    session: AsyncSession, messages: list[Message]
) -> list[Message | None]:
    """``insert_inbound`` for several messages in one statement, in their order. Each must
    have its own external id when there are several (it tells the new rows apart)."""
    if len(messages) == 1:
        return [await insert_inbound(session, messages[0])]
    keys = [m.external_id for m in messages]
    assert None not in keys and len(set(keys)) == len(keys), "one distinct external id each"
    ids = await insert_all_returning(
        session,
        Message.__table__,  # type: ignore[attr-defined]
        [m.model_dump(exclude={"id"}) for m in messages],
        key="external_id",
    )
    stored: list[Message | None] = []
    for message in messages:
        if message.external_id not in ids:
            stored.append(None)
            continue
        message.id = ids[message.external_id]
        make_transient_to_detached(message)
        session.add(message)
        stored.append(message)
    return stored


async def get_message(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def find_message(session: AsyncSession, channel: str, external_id: str) -> Message | None:
    return await session.scalar(
        select(Message).where(Message.channel == channel, Message.external_id == external_id)
    )


async def recent_inbound_texts(
    session: AsyncSession, person_id: int, *, before_id: int, since: datetime, limit: int
) -> list[str]:
    """The person's earlier inbound texts in the window, oldest first."""
    if limit <= 0:
        return []
    texts = await session.scalars(
        select(Message.text)
        .where(
            Message.person_id == person_id,
            Message.direction == Direction.IN,
            Message.text != "",  # a picture or an untranscribed voice message says nothing here
            Message.id < before_id,
            Message.received_at >= since,
        )
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(texts.all()))


async def recent_texts_of_identity(
    session: AsyncSession, *, kind: str, lookup_hash: str, since: datetime, limit: int
) -> list[str]:
    """The inbound texts in the window of whoever holds this identity, oldest first (none
    for someone unknown): one query, without reading her row first."""
    if limit <= 0:
        return []
    texts = await session.scalars(
        select(Message.text)
        .join(Identity, Identity.person_id == Message.person_id)
        .where(
            Identity.kind == kind,
            Identity.lookup_hash == lookup_hash,
            Message.direction == Direction.IN,
            Message.text != "",
            Message.received_at >= since,
        )
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(texts.all()))


async def last_inbound(session: AsyncSession, person_id: int, *, limit: int) -> list[Message]:
    """Her last inbound messages with text, oldest first (what a worker reads at a glance)."""
    rows = await session.scalars(
        select(Message)
        .where(
            Message.person_id == person_id,
            Message.direction == Direction.IN,
            Message.text != "",
        )
        .order_by(Message.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return list(reversed(rows.all()))


async def claim_stale_messages(
    session: AsyncSession, *, owner: str, now: datetime, until: datetime, limit: int = 50
) -> Sequence[Message]:
    """Take up to ``limit`` inbound messages stored but left unhandled past their lease.

    Whoever stored a message holds it until ``claimed_until``; past that its process stopped,
    or lost its database mid-way, and any process may take it (each exactly once: the rows
    are locked, skipping those another process is taking right now).
    """
    stale = (
        select(Message.id)
        .where(
            Message.direction == Direction.IN,
            Message.status == MessageStatus.RECEIVED,
            or_(Message.claimed_until.is_(None), Message.claimed_until < now),  # type: ignore[union-attr]
        )
        .order_by(Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = (await session.scalars(stale)).all()
    if not ids:
        return []
    await session.execute(
        update(Message)
        .where(Message.id.in_(ids))  # type: ignore[union-attr]
        .values(claimed_by=owner, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    messages = await session.scalars(
        select(Message)
        .where(Message.id.in_(ids))  # type: ignore[union-attr]
        .order_by(Message.id)
        .execution_options(populate_existing=True)
    )
    return messages.all()


async def take_over_message(
    session: AsyncSession, message_id: int, *, owner: str, now: datetime, until: datetime
) -> bool:
    """Take one unhandled message whose lease has run out; False if it is held or handled."""
    result = await session.execute(
        update(Message)
        .where(
            Message.id == message_id,
            Message.status == MessageStatus.RECEIVED,
            or_(Message.claimed_until.is_(None), Message.claimed_until < now),  # type: ignore[union-attr]
        )
        .values(claimed_by=owner, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


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


async def last_inbound_at(session: AsyncSession, person_id: int, channel: str) -> datetime | None:
    """When she last wrote on ``channel`` (a platform's reply window counts from then)."""
    return await session.scalar(
        select(func.max(Message.received_at)).where(
            Message.person_id == person_id,
            Message.channel == channel,
            Message.direction == Direction.IN,
        )
    )


async def wrote_since(session: AsyncSession, person_id: int, since: datetime) -> bool:
    """Whether she wrote on any channel after ``since``."""
    found = await session.scalar(
        select(Message.id)
        .where(
            Message.person_id == person_id,
            Message.direction == Direction.IN,
            Message.received_at > since,
        )
        .limit(1)
    )
    return found is not None


async def count_unanswered_distress(
    session: AsyncSession,
    person_id: int,
    *,
    since: datetime,
    intents: Collection[str],
    risk_levels: Collection[str],
    calls_channel: str | None = None,
    leaving_out_call: str | None = None,
) -> int:
    """Her inbound messages since ``since`` classified as one of ``intents`` or at one of
    ``risk_levels`` that no escalation answered: none that opened or joined one, none from
    before her latest one opened (one count over her messages, by their person index).

    On ``calls_channel`` a message is one segment of a call: a call counts once, and the call
    ``leaving_out_call`` (the one she is on) not at all."""
    latest_opening = (
        select(func.max(Escalation.message_id))
        .where(Escalation.person_id == person_id)
        .scalar_subquery()
    )
    counted = case(
        (Message.channel == calls_channel, Message.conversation_id),
        else_=cast(Message.id, String),
    )
    query = (
        select(func.count(func.distinct(counted)))
        .select_from(Message)
        .join(Classification, Classification.message_id == Message.id)
        .where(
            Message.person_id == person_id,
            Message.direction == Direction.IN,
            Message.received_at >= since,
            Message.escalation_id.is_(None),  # type: ignore[union-attr]
            Message.id > func.coalesce(latest_opening, 0),
            or_(
                Classification.intent.in_(tuple(intents)),  # type: ignore[attr-defined]
                Classification.risk_level.in_(tuple(risk_levels)),  # type: ignore[attr-defined]
            ),
        )
    )
    if leaving_out_call is not None:
        query = query.where(
            or_(
                Message.channel != calls_channel,
                Message.conversation_id != leaving_out_call,
            )
        )
    return int(await session.scalar(query) or 0)
