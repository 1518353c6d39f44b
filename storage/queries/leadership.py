"""Which process leads: a PostgreSQL session-level advisory lock, held by one connection.

The lock lives as long as the connection: a leader that dies or loses its database loses it,
and another process's next try takes it (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def hold_leader_lock(connection: AsyncConnection, key: int) -> bool:
    """Take the lock on this connection if nobody holds it; True when this connection has it."""
    held = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
    await connection.commit()  # the lock is the session's, not the transaction's
    return bool(held)


async def leader_lock_held(connection: AsyncConnection, key: int) -> bool:
    """Whether this connection still holds the lock (False, or an error, if it was lost)."""
    held = await connection.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
            " AND pid = pg_backend_pid() AND objid = :key AND granted)"
        ),
        {"key": key},
    )
    await connection.commit()
    return bool(held)


async def release_leader_lock(connection: AsyncConnection, key: int) -> None:
    """Let the lock go (the connection goes back to a pool: the session would keep it)."""
    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    await connection.commit()
