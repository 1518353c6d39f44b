"""Contacts: one 人次 of service each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact


async def ongoing_contacts(
    session: AsyncSession, person_id: int, channel: str, since: datetime
) -> Sequence[Contact]:
    """Her contacts on this channel still going on at ``since`` (one per service type, the
    latest)."""
    rows = await session.scalars(
        select(Contact)
        .where(
            Contact.person_id == person_id,
            Contact.channel == channel,
            Contact.ended_at >= since,
        )
        .order_by(Contact.ended_at.desc())  # type: ignore[attr-defined]
    )
    latest: dict[str, Contact] = {}
    for contact in rows.all():
        latest.setdefault(contact.service_type, contact)
    return list(latest.values())
