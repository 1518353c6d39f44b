"""Follow-ups: check-ins and callbacks, each fired exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FollowUp, FollowUpStatus


async def get_follow_up(session: AsyncSession, follow_up_id: int) -> FollowUp | None:
    return await session.get(FollowUp, follow_up_id)


async def follow_ups_for_message(session: AsyncSession, message_id: int) -> Sequence[FollowUp]:
    return (
        await session.scalars(
            select(FollowUp).where(FollowUp.message_id == message_id).order_by(FollowUp.id)  # type: ignore[arg-type]
        )
    ).all()


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
        .order_by(FollowUp.due_at)  # type: ignore[arg-type]
        .limit(1)
    )


async def claim_follow_up(session: AsyncSession, follow_up_id: int, at: datetime) -> bool:
    """Atomically move one follow-up from scheduled to firing. Exactly one caller wins."""
    result = await session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up_id, FollowUp.status == FollowUpStatus.SCHEDULED)
        .values(status=FollowUpStatus.FIRING, fired_at=at, attempts=FollowUp.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def mark_follow_up(
    session: AsyncSession, follow_up_id: int, *, was: FollowUpStatus, now: FollowUpStatus
) -> bool:
    """Move it from ``was`` to ``now``; False when it was not ``was`` (another run moved it)."""
    result = await session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up_id, FollowUp.status == was)
        .values(status=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]
