"""API access tokens (WeChat / WeCom), one row per app, shared by every process."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiToken
from storage.queries._upsert import insert_or_replace


async def stored_api_token(session: AsyncSession, key: str) -> ApiToken | None:
    return await session.scalar(select(ApiToken).where(ApiToken.key == key))


async def store_api_token(session: AsyncSession, token: ApiToken) -> bool:
    """Keep the token unless a later-fetched one is stored already; True if kept."""
    values = token.model_dump(exclude={"id"})
    return await insert_or_replace(
        session,
        ApiToken.__table__,  # type: ignore[attr-defined]
        values,
        key="key",
        unless_newer="fetched_at",
    )
