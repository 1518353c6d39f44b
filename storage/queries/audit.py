"""The audit log, and the schema's revision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent


async def audit(
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


async def schema_revision(session: AsyncSession) -> str | None:
    """The Alembic revision the database is at, or None before the first migration."""
    try:
        async with session.begin_nested():
            return await session.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return None


async def history_of(
    session: AsyncSession, object_type: str, object_id: int
) -> Sequence[AuditEvent]:
    """What happened to one object, oldest first."""
    return (
        await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.id)  # type: ignore[arg-type]
        )
    ).all()


async def last_event(
    session: AsyncSession, *, action: str, object_type: str, object_id: int
) -> AuditEvent | None:
    """The latest such event: who acknowledged an escalation, and when."""
    return await session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.action == action,
            AuditEvent.object_type == object_type,
            AuditEvent.object_id == object_id,
        )
        .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )


async def audit_log(
    session: AsyncSession,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Sequence[AuditEvent]:
    """Newest first, a page at a time: the next page starts before the last id shown."""
    query = select(AuditEvent)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)  # type: ignore[operator]
    order = AuditEvent.id.desc()  # type: ignore[union-attr]
    return (await session.scalars(query.order_by(order).limit(limit))).all()
