"""Leadership: exactly one process at a time runs the scheduler's duties.

On PostgreSQL the leader is whoever holds an advisory lock on a connection of its own; when it
dies or loses the database, the lock goes with its connection and another process's next
``check`` takes over. SQLite has one process (its file has one writer), which always leads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from storage import queries
from storage.db import Database

log = logging.getLogger("careline.leader")

LEADER_LOCK_KEY = 0x0CA7E11E  # "careline": any constant every replica shares
CHECK_SECONDS = 5.0


class Leadership:
    def __init__(
        self,
        db: Database,
        *,
        on_gain: Callable[[], Awaitable[None]],
        on_loss: Callable[[], Awaitable[None]],
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self._db = db
        self._on_gain = on_gain
        self._on_loss = on_loss
        self._check_seconds = check_seconds
        self._connection: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self.leading = False

    async def check(self) -> bool:
        """Take the lead if it is free, notice if it was lost; whether this process leads."""
        if self._db.dialect != "postgresql":
            held = True
        else:
            held = await self._check_lock()
        if held and not self.leading:
            self.leading = True
            log.info("this process now runs the scheduler")
            await self._on_gain()
        elif not held and self.leading:
            self.leading = False
            log.warning("this process no longer runs the scheduler")
            await self._on_loss()
        return held

    async def _check_lock(self) -> bool:
        try:
            if self._connection is None:
                self._connection = await self._db.engine.connect()
                return await queries.hold_leader_lock(self._connection, LEADER_LOCK_KEY)
            if self.leading:
                return await queries.leader_lock_held(self._connection, LEADER_LOCK_KEY)
            return await queries.hold_leader_lock(self._connection, LEADER_LOCK_KEY)
        except Exception as exc:
            log.error("leader lock: %s", type(exc).__name__)
            await self._drop_connection()
            return False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._keep_checking())

    async def stop(self) -> None:
        """Step down: stop the duties, then let the lock go for another process."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.leading:
            self.leading = False
            await self._on_loss()
        await self._drop_connection()

    async def _keep_checking(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("leadership check failed")
            await asyncio.sleep(self._check_seconds)

    async def _drop_connection(self) -> None:
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        try:
            await queries.release_leader_lock(connection, LEADER_LOCK_KEY)
            await connection.close()
        except Exception:
            # Unreachable: discard the connection (its server session, and the lock, end).
            await connection.invalidate()
