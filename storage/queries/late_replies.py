"""Late replies: replies owed through the WeChat / WeCom API after the passive deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LateReply, LateReplyStatus


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


async def finish_late_reply(
    session: AsyncSession, late_reply_id: int, status: LateReplyStatus, at: datetime
) -> None:
    await session.execute(
        update(LateReply)
        .where(LateReply.id == late_reply_id)
        .values(status=status, finished_at=at)
        .execution_options(synchronize_session=False)
    )


async def mark_late_reply(
    session: AsyncSession,
    late_reply_id: int,
    *,
    was: LateReplyStatus,
    now: LateReplyStatus,
    counting_a_try: bool = False,
) -> bool:
    """Move it from ``was`` to ``now`` (a send starting: ``counting_a_try``); False when it
    was not ``was`` (another run moved it)."""
    values: dict[str, object] = {"status": now}
    if counting_a_try:
        values["attempts"] = LateReply.attempts + 1
    result = await session.execute(
        update(LateReply)
        .where(LateReply.id == late_reply_id, LateReply.status == was)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]
