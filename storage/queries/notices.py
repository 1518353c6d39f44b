"""What staff were told: one row per try, per person, per sender."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import NoticeAttempt

# NoticeAttempt.status of a try that got through (bot.notifiers.base.DeliveryStatus.DELIVERED).
DELIVERED = "delivered"


def record_attempt(
    session: AsyncSession,
    *,
    escalation_id: int | None,
    outbox_id: int | None,
    recipient: str,
    sender: str,
    status: str,
    reason: str,
    at: datetime,
) -> None:
    session.add(
        NoticeAttempt(
            escalation_id=escalation_id,
            outbox_id=outbox_id,
            recipient=recipient,
            sender=sender,
            status=status,
            reason=reason[:200],
            at=at,
        )
    )


async def attempts_for(session: AsyncSession, escalation_id: int) -> Sequence[NoticeAttempt]:
    return (
        await session.scalars(
            select(NoticeAttempt)
            .where(NoticeAttempt.escalation_id == escalation_id)
            .order_by(NoticeAttempt.id)  # type: ignore[arg-type]
        )
    ).all()


async def notified_recipients(session: AsyncSession, escalation_id: int) -> list[str]:
    """Who a notice of this escalation reached, in the order they were first told."""
    rows = await session.execute(
        select(NoticeAttempt.recipient, func.min(NoticeAttempt.id).label("first"))
        .where(
            NoticeAttempt.escalation_id == escalation_id,
            NoticeAttempt.status == DELIVERED,
        )
        .group_by(NoticeAttempt.recipient)
        .order_by("first")
    )
    return [recipient for recipient, _ in rows.all()]
