"""Counts for the programme's reports, aggregated by the database (never rows into Python).

A period is cut into buckets by boundaries the caller computes (local month or day starts,
in UTC): a CASE over the boundaries puts each row in its bucket, so the same SQL serves
SQLite and PostgreSQL and any time zone, daylight saving included.

The median time to acknowledge is taken portably: count the acknowledged escalations, then
read the one or two middle durations with ORDER BY ... LIMIT/OFFSET.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Contact, Escalation, FollowUp


def _bucket(column, bounds: Sequence[datetime]) -> ColumnElement[int]:  # type: ignore[no-untyped-def]
    """The index of the bucket [bounds[i], bounds[i + 1]) the column falls in."""
    return case(*((column < bound, i) for i, bound in enumerate(bounds[1:])), else_=None)


def _within(column, bounds: Sequence[datetime]) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    return (column >= bounds[0]) & (column < bounds[-1])


async def _count_by_bucket(
    session: AsyncSession,
    when,
    key,
    bounds: Sequence[datetime],  # type: ignore[no-untyped-def]
) -> dict[tuple[int, str], int]:
    # Grouped outside a subquery: PostgreSQL would not take the CASE in GROUP BY as the one in
    # SELECT (each renders its own bind parameters).
    rows = (
        select(_bucket(when, bounds).label("bucket"), key.label("key"))
        .where(_within(when, bounds))
        .subquery()
    )
    counted = await session.execute(
        select(rows.c.bucket, rows.c.key, func.count()).group_by(rows.c.bucket, rows.c.key)
    )
    return {(bucket, k): n for bucket, k, n in counted.all()}


async def services_by_bucket(
    session: AsyncSession, bounds: Sequence[datetime]
) -> dict[tuple[int, str], int]:
    """Contacts (人次) per (bucket, service type), by when they started."""
    return await _count_by_bucket(session, Contact.started_at, Contact.service_type, bounds)


async def people_by_service(
    session: AsyncSession, since: datetime, until: datetime
) -> dict[str, int]:
    """How many different mothers each service type reached in [since, until) (人数)."""
    rows = await session.execute(
        select(Contact.service_type, func.count(func.distinct(Contact.person_id)))
        .where(Contact.started_at >= since, Contact.started_at < until)
        .group_by(Contact.service_type)
    )
    return dict(rows.tuples().all())


async def escalations_by_bucket(
    session: AsyncSession, bounds: Sequence[datetime]
) -> dict[tuple[int, str], int]:
    """Escalations opened per (bucket, priority)."""
    return await _count_by_bucket(session, Escalation.created_at, Escalation.priority, bounds)


@dataclass(frozen=True, slots=True)
class AckFigures:
    opened: int
    acknowledged: int
    median_seconds: float | None  # None when none was acknowledged


def _seconds_to_ack(dialect: str) -> ColumnElement[float]:
    if dialect == "sqlite":
        # SQLite keeps the UTC times as text; julianday reads them as days.
        days = func.julianday(Escalation.acknowledged_at) - func.julianday(Escalation.created_at)
        return days * 86400.0
    return func.extract("epoch", Escalation.acknowledged_at - Escalation.created_at)


async def acknowledgement(
    session: AsyncSession, since: datetime, until: datetime, priority: str
) -> AckFigures:
    """Escalations of this priority opened in [since, until): how many, how many were
    acknowledged, and the median time from opening to acknowledgement."""
    opened_in = (
        Escalation.priority == priority,
        Escalation.created_at >= since,
        Escalation.created_at < until,
    )
    acked = Escalation.acknowledged_at.is_not(None)  # type: ignore[union-attr]
    opened, acknowledged = (
        await session.execute(
            select(func.count(), func.count(Escalation.acknowledged_at)).where(*opened_in)
        )
    ).one()
    if not acknowledged:
        return AckFigures(opened, 0, None)
    seconds = _seconds_to_ack(session.bind.dialect.name)
    middle = (
        await session.scalars(
            select(seconds)
            .where(*opened_in, acked)
            .order_by(seconds)
            .offset((acknowledged - 1) // 2)
            .limit(1 if acknowledged % 2 else 2)
        )
    ).all()
    return AckFigures(opened, acknowledged, sum(float(s) for s in middle) / len(middle))


async def follow_ups_by_status(
    session: AsyncSession, since: datetime, until: datetime
) -> dict[tuple[str, str], int]:
    """Follow-ups falling due in [since, until), per (kind, status)."""
    rows = await session.execute(
        select(FollowUp.kind, FollowUp.status, func.count())
        .where(FollowUp.due_at >= since, FollowUp.due_at < until)
        .group_by(FollowUp.kind, FollowUp.status)
    )
    return {(kind, status): n for kind, status, n in rows.all()}
