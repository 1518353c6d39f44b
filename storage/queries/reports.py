"""Counts for the programme's reports, aggregated by the database (never rows into Python).

A period is cut into buckets by boundaries the caller computes (local month or day starts):
each bucket is a range of an indexed time column, so the same SQL serves SQLite and
PostgreSQL and any time zone, daylight saving included.

The median time to acknowledge is taken portably: count the acknowledged escalations, then
read the one or two middle durations with ORDER BY ... LIMIT/OFFSET.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Contact, Escalation, FollowUp


async def _count_by_bucket(
    session: AsyncSession,
    when,  # type: ignore[no-untyped-def]
    key,  # type: ignore[no-untyped-def]
    keys: Sequence[str],
    bounds: Sequence[datetime],
) -> dict[tuple[int, str], int]:
    """Rows per (bucket, key): one index range count per pair, in one statement. Grouping the
    whole period instead sorts every row of it (a CASE per row, then a temporary B-tree),
    several times slower at 100,000 contacts."""
    counts = [
        select(literal(i), literal(k), func.count()).where(
            key == k, when >= bounds[i], when < bounds[i + 1]
        )
        for i in range(len(bounds) - 1)
        for k in keys
    ]
    if not counts:
        return {}
    rows = await session.execute(union_all(*counts))
    return {(int(bucket), k): n for bucket, k, n in rows.all() if n}


async def services_by_bucket(
    session: AsyncSession, bounds: Sequence[datetime], service_types: Sequence[str]
) -> dict[tuple[int, str], int]:
    """Contacts (人次) per (bucket, service type), by when they started; the buckets are
    [bounds[i], bounds[i + 1])."""
    return await _count_by_bucket(
        session, Contact.started_at, Contact.service_type, service_types, bounds
    )


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
    session: AsyncSession, bounds: Sequence[datetime], priorities: Sequence[str]
) -> dict[tuple[int, str], int]:
    """Escalations opened per (bucket, priority)."""
    return await _count_by_bucket(
        session, Escalation.created_at, Escalation.priority, priorities, bounds
    )


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
    # To the millisecond, the precision the times are kept at (julianday's floating point
    # leaves microseconds of noise).
    median = round(sum(float(s) for s in middle) / len(middle), 3)
    return AckFigures(opened, acknowledged, median)


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
