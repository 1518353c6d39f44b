"""Signed callbacks let in: the replay guard's memory, shared by every process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AcceptedRequest
from storage.queries._upsert import insert_unless_duplicate


async def accept_request(session: AsyncSession, request: AcceptedRequest) -> str | None:
    """Remember the request; None if it is new, else the fingerprint stored for its nonce.

    The stored fingerprint is "" when the row went (released) between the two statements.
    """
    table = AcceptedRequest.__table__  # type: ignore[attr-defined]
    values = request.model_dump(exclude={"id"})
    if await insert_unless_duplicate(session, table, values) is not None:
        return None
    stored = await session.scalar(select(AcceptedRequest.fingerprint).where(*_same_nonce(request)))
    return stored or ""


async def forget_request(session: AsyncSession, request: AcceptedRequest) -> None:
    """Drop the row this very request wrote (never another request's with its nonce)."""
    await session.execute(
        delete(AcceptedRequest)
        .where(*_same_nonce(request), AcceptedRequest.fingerprint == request.fingerprint)
        .execution_options(synchronize_session=False)
    )


async def prune_accepted_requests(session: AsyncSession, now: datetime, *, limit: int) -> int:
    """Delete up to ``limit`` rows past their expiry; how many went."""
    expired = (
        select(AcceptedRequest.id)
        .where(AcceptedRequest.expires_at < now)
        .order_by(AcceptedRequest.expires_at)
        .limit(limit)
    )
    result = await session.execute(
        delete(AcceptedRequest)
        .where(AcceptedRequest.id.in_(expired))  # type: ignore[union-attr]
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


def _same_nonce(request: AcceptedRequest) -> tuple:  # type: ignore[type-arg]
    return (
        AcceptedRequest.channel == request.channel,
        AcceptedRequest.sent_at == request.sent_at,
        AcceptedRequest.nonce == request.nonce,
    )
