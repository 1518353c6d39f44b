"""Database engine and sessions (SQLAlchemy 2 async): SQLite by default, PostgreSQL too.

Reads take ``session()``; anything that writes takes ``write()``.

SQLite has one writer at a time for the whole file, and a transaction that read first cannot
wait its turn to write: it fails at once with "database is locked". So on SQLite ``write()``
queues writers on a lock in this process and runs them on one connection that opens with
``BEGIN IMMEDIATE`` (the write lock before any read) and executes on the event loop
(``storage.inline_sqlite``: no thread round trip per statement). ``busy_timeout`` covers only
other processes (the CLI). PostgreSQL writers run concurrently, as before.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import inline_sqlite
from storage.direct import Direct, Executor, executor, translated

SYNC_DRIVERS = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}


def database_url(url: str, password: str | None = None) -> URL:
    """The configured URL, with the password from the environment when one is given."""
    parsed = make_url(url)
    if password and parsed.drivername.startswith("postgresql"):
        parsed = parsed.set(password=password)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        from pathlib import Path

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed


def sync_url(url: URL) -> URL:
    """The same database through a synchronous driver (Alembic, APScheduler's job store)."""
    return url.set(drivername=SYNC_DRIVERS.get(url.drivername, url.drivername))


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers and the one writer use the file at once; busy_timeout makes a writer
    # from another process (the CLI) wait instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def tune_sqlite_engine(engine) -> None:  # type: ignore[no-untyped-def]
    """Apply the SQLite pragmas to a sync engine (or an async engine's ``sync_engine``)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)


class Database:
    def __init__(self, url: URL) -> None:
        self.url = url
        self.serialises_writes = url.get_backend_name() == "sqlite"
        if self.serialises_writes:
            # A local file does not drop connections: no ping before every checkout.
            self.engine: AsyncEngine = create_async_engine(url)
            tune_sqlite_engine(self.engine.sync_engine)
            self._writer = _sqlite_writer(self.engine)
        else:
            self.engine = create_async_engine(url, pool_pre_ping=True)
            self._writer = self.engine
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writes = async_sessionmaker(self._writer, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.serialises_writes else None
        self._direct: sqlite3.Connection | None = None  # transaction()'s, opened when first used

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reading (tests and one-off tools may commit through it too)."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed on leaving (rolled back on an error).

        Keep it short and free of outside calls: on SQLite every other writer waits for it.
        """
        if self._write_lock is None:
            async with self._writes() as session, session.begin():
                yield session
            return
        async with self._write_lock:
            session = self._writes()
            try:
                await _begin_immediate_when_free(session)
                yield session
                await session.commit()
            finally:
                # Not ``async with``: that closes in a task of its own, a turn of the loop later,
                # and under load every writer queued behind this one would wait that turn too.
                # The connection runs on the loop, so this close never waits and is never cut
                # short by a cancellation.
                await session.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        """A write transaction for Core statements (``storage.direct``), committed on leaving.

        What every message writes goes through here. On SQLite it runs on a ``sqlite3``
        connection of its own, in turn with ``write()`` (the same lock), with no session around
        it: a session's begin and commit cost more than the statements of a message.
        """
        if self._write_lock is None:
            async with self.write() as session:
                yield await executor(session)
            return
        async with self._write_lock:
            connection = await self._begin_direct()
            try:
                yield Direct(connection, self.engine.dialect)
            except BaseException:
                connection.rollback()
                raise
            with translated("COMMIT"):
                connection.commit()

    async def _begin_direct(self) -> sqlite3.Connection:
        """``transaction()``'s connection in BEGIN IMMEDIATE, waiting out another process."""
        for delay in (*_BUSY_RETRY_SECONDS, None):
            try:
                with translated("BEGIN IMMEDIATE"):
                    connection = self._direct_connection()  # its pragmas may meet the lock too
                    connection.execute("BEGIN IMMEDIATE")
                return connection
            except OperationalError as exc:
                if delay is None or "locked" not in str(exc.orig):
                    raise
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _direct_connection(self) -> sqlite3.Connection:
        if self._direct is None:
            connection = sqlite3.connect(
                self.url.database or "", isolation_level=None, check_same_thread=False
            )
            try:
                _tune_sqlite(connection, None)
                _fail_when_busy(connection, None)
            except BaseException:
                connection.close()
                raise
            self._direct = connection
        return self._direct

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        """Close every pooled connection (the next use opens new ones)."""
        await self.engine.dispose()
        if self._writer is not self.engine:
            await self._writer.dispose()
        if self._direct is not None:
            self._direct.close()
            self._direct = None


def _sqlite_writer(readers: AsyncEngine) -> AsyncEngine:
    """One connection, run on the event loop, for the one writer SQLite allows at a time."""
    args, kwargs = readers.dialect.create_connect_args(readers.url)
    kwargs.pop("check_same_thread", None)  # used on the loop's thread only

    async def connect() -> inline_sqlite.InlineConnection:
        return await inline_sqlite.connect(*args, **kwargs)

    writer = create_async_engine(readers.url, async_creator=connect, pool_size=1, max_overflow=0)
    tune_sqlite_engine(writer.sync_engine)
    # SQLite's busy handler would sleep on the event loop: wait in asyncio instead (below).
    event.listen(writer.sync_engine, "connect", _fail_when_busy)
    event.listen(writer.sync_engine, "begin", _begin_immediate)
    return writer


def _fail_when_busy(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
    # The inline connection leaves BEGIN to SQLAlchemy (no implicit one from the driver, which
    # also keeps SAVEPOINT working: https://docs.sqlalchemy.org/en/20/dialects/sqlite.html,
    # "Serializable isolation / Savepoints / Transactional DDL").
    conn.exec_driver_sql("BEGIN IMMEDIATE")


# Another process (the CLI) writing: try again for about as long as busy_timeout would wait.
_BUSY_RETRY_SECONDS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2) + (0.25,) * 18


async def _begin_immediate_when_free(session: AsyncSession) -> None:
    for delay in (*_BUSY_RETRY_SECONDS, None):
        try:
            await session.connection()  # BEGIN IMMEDIATE: the write lock, or "locked" at once
            return
        except OperationalError as exc:
            if delay is None or "locked" not in str(exc.orig):
                raise
        await session.rollback()
        await asyncio.sleep(delay)
