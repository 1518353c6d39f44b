"""The contact log: contacts filtered and paged by keyset, newest first.

A page is found by its neighbour's (started_at, id), never by an offset: a page stays the same
while new contacts arrive, and page 2,000 costs what page 1 costs (an index walk from the
cursor, ``ix_contact_started_id``).

A contact's risk is the highest risk level among the classifications of its messages (a
contact has no risk column of its own; a contact whose messages were never classified is at
the lowest level). Risk levels are ranked by the caller's ``risk_order`` (lowest first), so the
order is named once, in ``intents``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Classification, Contact, Message, Person


@dataclass(frozen=True, slots=True)
class ContactFilter:
    """What the log is narrowed to; None means any. Times are UTC, ``until`` excluded."""

    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None
    service_type: str | None = None
    intent: str | None = None
    worker: str | None = None  # Contact.handled_by
    risk: str | None = None  # the contact's highest risk level, exactly
    search: str | None = None  # a part of the summary, any case


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place in the log: the contact next to a page."""

    started_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.started_at.astimezone(UTC).isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor | None:
        """The cursor a page link carried, or None for anything else (a hand-edited link)."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            when, _, id_ = raw.partition("|")
            started_at = datetime.fromisoformat(when)
            id_number = int(id_)
            # A forged id past 64 bits would overflow in the query.
            if started_at.tzinfo is None or not 0 < id_number < 2**63:
                return None
            return cls(started_at, id_number)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: int
    started_at: datetime
    ended_at: datetime
    pseudonym: str
    channel: str
    service_type: str
    intent: str
    risk: str
    message_count: int
    handled_by: str
    summary: str

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.started_at, self.id)


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[ContactRow]
    next: Cursor | None  # older contacts follow
    previous: Cursor | None  # newer contacts precede


def highest_risk_rank(risk_order: Sequence[str]) -> ColumnElement[int]:
    """The rank (index in ``risk_order``) of the riskiest classification of the contact's
    messages; 0 when none was classified. Correlated: evaluated for the rows it is asked for."""
    rank = case(
        {level: i for i, level in enumerate(risk_order)},
        value=Classification.risk_level,
        else_=0,
    )
    worst = (
        select(func.max(rank))
        .select_from(Message)
        .join(Classification, Classification.message_id == Message.id)
        .where(Message.contact_id == Contact.id)
        .correlate(Contact)
        .scalar_subquery()
    )
    return func.coalesce(worst, 0)


def _filtered(
    columns: Sequence[ColumnElement], filters: ContactFilter, risk: ColumnElement[int], order
) -> Select:
    query = select(*columns).select_from(Contact).join(Person, Person.id == Contact.person_id)
    if filters.since is not None:
        query = query.where(Contact.started_at >= filters.since)
    if filters.until is not None:
        query = query.where(Contact.started_at < filters.until)
    if filters.channel:
        query = query.where(Contact.channel == filters.channel)
    if filters.service_type:
        query = query.where(Contact.service_type == filters.service_type)
    if filters.intent:
        query = query.where(Contact.intent == filters.intent)
    if filters.worker:
        query = query.where(Contact.handled_by == filters.worker)
    if filters.risk:
        query = query.where(risk == order.index(filters.risk))
    if filters.search:
        query = query.where(Contact.summary.icontains(filters.search, autoescape=True))
    return query


def _after(cursor: Cursor) -> ColumnElement[bool]:
    return or_(
        Contact.started_at < cursor.started_at,
        and_(Contact.started_at == cursor.started_at, Contact.id < cursor.id),
    )


def _before(cursor: Cursor) -> ColumnElement[bool]:
    return or_(
        Contact.started_at > cursor.started_at,
        and_(Contact.started_at == cursor.started_at, Contact.id > cursor.id),
    )


async def contact_page(
    session: AsyncSession,
    filters: ContactFilter,
    risk_order: Sequence[str],
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int = 50,
) -> Page:
    """One page of the log, newest first: the first page, the one after ``after`` (older), or
    the one before ``before`` (newer)."""
    order = list(risk_order)
    if filters.risk is not None and filters.risk not in order:
        raise ValueError(f"unknown risk level {filters.risk!r}")
    risk = highest_risk_rank(order)
    columns = (
        Contact.id,
        Contact.started_at,
        Contact.ended_at,
        Person.pseudonym,
        Contact.channel,
        Contact.service_type,
        Contact.intent,
        risk.label("risk_rank"),
        Contact.message_count,
        Contact.handled_by,
        Contact.summary,
    )
    query = _filtered(columns, filters, risk, order)
    newest_first = (Contact.started_at.desc(), Contact.id.desc())  # type: ignore[union-attr]
    if before is not None:
        query = query.where(_before(before)).order_by(Contact.started_at, Contact.id)
    else:
        if after is not None:
            query = query.where(_after(after))
        query = query.order_by(*newest_first)
    found = [_row(r, order) for r in (await session.execute(query.limit(limit + 1))).all()]
    more, rows = len(found) > limit, found[:limit]
    if before is not None:
        rows.reverse()
        return Page(rows, rows[-1].cursor if rows else None, rows[0].cursor if more else None)
    return Page(
        rows,
        rows[-1].cursor if more else None,
        rows[0].cursor if after is not None and rows else None,
    )


def _row(record, order: list[str]) -> ContactRow:  # type: ignore[no-untyped-def]
    # By position (the columns of ``contact_page``): an export builds 100,000 of these.
    rank = min(int(record[7] or 0), len(order) - 1)
    return ContactRow(*record[:7], order[rank], *record[8:])  # type: ignore[arg-type]
