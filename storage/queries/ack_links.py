"""Acknowledgement links that were used: one row per link, so each link acts once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AckLinkAction, AckLinkUse
from storage.queries._upsert import insert_unless_duplicate


async def use_ack_link(
    session: AsyncSession,
    *,
    token_id: str,
    escalation_id: int,
    recipient: str,
    action: AckLinkAction,
    at: datetime,
) -> bool:
    """Mark the link used; False when it was used before (two taps at once: one wins)."""
    inserted = await insert_unless_duplicate(
        session,
        AckLinkUse.__table__,  # type: ignore[attr-defined]
        {
            "token_id": token_id,
            "escalation_id": escalation_id,
            "recipient": recipient,
            "action": action.value,
            "used_at": at,
        },
    )
    return inserted is not None


async def ack_link_use(session: AsyncSession, token_id: str) -> AckLinkUse | None:
    return await session.scalar(select(AckLinkUse).where(AckLinkUse.token_id == token_id))


async def handed_back(session: AsyncSession, escalation_id: int, recipient: str) -> bool:
    """Did this person hand the escalation back (then none of their links may take it)?"""
    found = await session.scalar(
        select(AckLinkUse.id)
        .where(
            AckLinkUse.escalation_id == escalation_id,
            AckLinkUse.recipient == recipient,
            AckLinkUse.action == AckLinkAction.HANDED_BACK,
        )
        .limit(1)
    )
    return found is not None


async def handed_back_by(session: AsyncSession, escalation_id: int) -> set[str]:
    """Everyone who handed the escalation back."""
    found = await session.scalars(
        select(AckLinkUse.recipient).where(
            AckLinkUse.escalation_id == escalation_id,
            AckLinkUse.action == AckLinkAction.HANDED_BACK,
        )
    )
    return set(found.all())
