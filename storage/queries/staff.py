"""Staff accounts and their sign-in sessions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, StaffSession, StaffUser


async def count_staff(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(StaffUser)) or 0)


async def staff_by_username(session: AsyncSession, username: str) -> StaffUser | None:
    return await session.scalar(select(StaffUser).where(StaffUser.username == username))


async def all_staff(session: AsyncSession) -> Sequence[StaffUser]:
    return (await session.scalars(select(StaffUser).order_by(StaffUser.username))).all()


async def open_staff_session(
    session: AsyncSession,
    *,
    staff_id: int,
    token_hash: str,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> StaffSession:
    row = StaffSession(
        staff_id=staff_id,
        token_hash=token_hash,
        csrf_token=csrf_token,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row


async def signed_in(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[StaffSession, StaffUser] | None:
    """The live session with this token and its (active) user, or None."""
    row = (
        await session.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.staff_id)  # type: ignore[arg-type]
            .where(
                StaffSession.token_hash == token_hash,
                StaffSession.expires_at > now,
                StaffUser.active.is_(True),  # type: ignore[attr-defined]
            )
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def end_staff_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash))


async def end_sessions_of(session: AsyncSession, staff_id: int) -> int:
    result = await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def prune_staff_sessions(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class FailedSignIns:
    for_user_here: int  # this username from this address
    for_user: int  # this username from anywhere
    from_address: int  # any username from this address


async def failed_sign_ins_since(
    session: AsyncSession, *, username: str, address: str, since: datetime
) -> FailedSignIns:
    """Failed sign-ins since then, counted three ways (see ``bot.web.signin``).

    The audit log is the record (one row per failure), so the limit holds across replicas.
    """
    failures = select(AuditEvent.detail).where(
        AuditEvent.action == "staff.sign_in_failed", AuditEvent.at >= since
    )
    here = anywhere = from_address = 0
    for (detail,) in (await session.execute(failures)).all():
        same_user, same_address = (
            detail.get("username") == username,
            detail.get("address") == address,
        )
        here += same_user and same_address
        anywhere += same_user
        from_address += same_address
    return FailedSignIns(here, anywhere, from_address)
