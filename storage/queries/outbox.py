"""The outbox: work that leaves Careline, claimed with a lease by whichever process is free.

A row is enqueued in the transaction that decided it. A worker claims due rows (locking them,
skipping rows another process is claiming: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has
one writer at a time anyway), does the work outside any transaction, then records how it went.
A claim whose process died expires at ``claimed_until`` and is taken again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxItem, OutboxStatus
from storage.queries._upsert import insert_all_unless_duplicate, insert_unless_duplicate


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    now: datetime,
    escalation_id: int | None = None,
    follow_up_id: int | None = None,
    late_reply_id: int | None = None,
    recipient: str | None = None,
) -> int | None:
    """Add a row; None when one with this key exists (enqueued before: nothing to add)."""
    return await insert_unless_duplicate(
        session,
        OutboxItem.__table__,  # type: ignore[attr-defined]
        outbox_row(
            kind=kind,
            key=key,
            due_at=due_at,
            now=now,
            escalation_id=escalation_id,
            follow_up_id=follow_up_id,
            late_reply_id=late_reply_id,
            recipient=recipient,
        ),
    )


async def enqueue_all(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add ``outbox_row`` rows in one statement; a key enqueued before is left as it is."""
    await insert_all_unless_duplicate(session, OutboxItem.__table__, rows)  # type: ignore[attr-defined]


def outbox_row(
    *,
    kind: str,
    key: str,
    due_at: datetime,
    now: datetime,
    escalation_id: int | None = None,
    follow_up_id: int | None = None,
    late_reply_id: int | None = None,
    recipient: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key,
        "escalation_id": escalation_id,
        "follow_up_id": follow_up_id,
        "late_reply_id": late_reply_id,
        "recipient": recipient,
        "status": OutboxStatus.PENDING,
        "due_at": due_at,
        "attempts": 0,
        "created_at": now,
    }


async def claim_due(
    session: AsyncSession, *, owner: str, now: datetime, until: datetime, limit: int = 20
) -> Sequence[OutboxItem]:
    """Claim up to ``limit`` pending rows due by ``now`` for ``owner`` until ``until``."""
    due = (
        select(OutboxItem.id)
        .where(
            OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.due_at <= now,
            or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now),  # type: ignore[union-attr]
        )
        .order_by(OutboxItem.due_at, OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    # One statement: the claim returns the rows it took (UPDATE ... RETURNING).
    claimed = await session.scalars(
        update(OutboxItem)
        .where(OutboxItem.id.in_(due.scalar_subquery()))  # type: ignore[union-attr]
        .values(claimed_by=owner, claimed_until=until, attempts=OutboxItem.attempts + 1)
        .returning(OutboxItem),
        execution_options={"synchronize_session": False},
    )
    return sorted(claimed.all(), key=lambda item: (item.due_at, item.id))


async def finish(
    session: AsyncSession,
    item_id: int,
    *,
    owner: str,
    status: OutboxStatus,
    result: str,
    at: datetime,
) -> bool:
    """Record the end of a claimed row; False when the claim was lost (expired and retaken)."""
    return await _update_claimed(
        session,
        item_id,
        owner,
        status=status,
        result=result[:200],
        finished_at=at,
        claimed_until=None,
    )


async def retry_later(
    session: AsyncSession, item_id: int, *, owner: str, due_at: datetime, result: str
) -> bool:
    """Put a claimed row back, due again at ``due_at``."""
    return await _update_claimed(
        session,
        item_id,
        owner,
        due_at=due_at,
        result=result[:200],
        claimed_by=None,
        claimed_until=None,
    )


async def _update_claimed(
    session: AsyncSession, item_id: int, owner: str, **values: object
) -> bool:
    """Change a pending row only while ``owner`` still holds its claim."""
    outcome = await session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id == item_id,
            OutboxItem.claimed_by == owner,
            OutboxItem.status == OutboxStatus.PENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return outcome.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def cancel_pending(
    session: AsyncSession,
    *,
    escalation_id: int,
    kinds: Collection[str],
    at: datetime,
    result: str,
    recipient: str | None = None,
) -> int:
    """Cancel the escalation's own rows of these kinds not yet done (to ``recipient`` only,
    when given): how many. A follow-up's rows are never among them, even when they name the
    escalation: a check-in outlives the paging about her crisis."""
    conditions = [
        OutboxItem.escalation_id == escalation_id,
        OutboxItem.status == OutboxStatus.PENDING,
        OutboxItem.kind.in_(tuple(kinds)),  # type: ignore[attr-defined]
        OutboxItem.follow_up_id.is_(None),  # type: ignore[union-attr]
    ]
    if recipient is not None:
        conditions.append(OutboxItem.recipient == recipient)
    outcome = await session.execute(
        update(OutboxItem)
        .where(*conditions)
        .values(status=OutboxStatus.CANCELLED, result=result, finished_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(outcome.rowcount)  # type: ignore[attr-defined]
