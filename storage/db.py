"""Database engine and sessions (SQLAlchemy 2 async): SQLite by default, PostgreSQL too.

Reads take ``session()``; anything that writes takes ``write()``. Both are plain async ORM
sessions: there is one data path, on every database.

SQLite has one writer at a time for the whole file, and a transaction that read first cannot
wait its turn to write: it fails at once with "database is locked". So on SQLite ``write()``
queues this process's writers on a lock and runs them on one connection that opens with
``BEGIN IMMEDIATE`` (the write lock before any read); ``busy_timeout`` makes it wait for
another process (the CLI) in aiosqlite's thread, never on the event loop. PostgreSQL writers
run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SYNC_DRIVERS = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}


def database_url(url: str, password: str | None = None) -> URL:
    """The configured URL, with the password from the environment when one is given."""
    parsed = make_url(url)
    if password and parsed.drivername.startswith("postgresql"):
        parsed = parsed.set(password=password)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed


def sync_url(url: URL) -> URL:
    """The same database through a synchronous driver (Alembic, APScheduler's job store)."""
    return url.set(drivername=SYNC_DRIVERS.get(url.drivername, url.drivername))


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers and the one writer use the file at once; busy_timeout makes a writer
    # from another process wait instead of failing.
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


def _no_implicit_begin(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # The driver's own implicit BEGIN is deferred; SQLAlchemy emits BEGIN IMMEDIATE instead
    # (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html, "Serializable isolation").
    dbapi_connection.isolation_level = None


def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: URL) -> None:
        self.url = url
        self.dialect = url.get_backend_name()
        if self.dialect == "sqlite":
            # A local file does not drop connections: no ping before every checkout.
            self.engine: AsyncEngine = create_async_engine(url)
            tune_sqlite_engine(self.engine.sync_engine)
            self._writer = create_async_engine(url, pool_size=1, max_overflow=0)
            tune_sqlite_engine(self._writer.sync_engine)
            event.listen(self._writer.sync_engine, "connect", _no_implicit_begin)
            event.listen(self._writer.sync_engine, "begin", _begin_immediate)
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
        else:
            self.engine = create_async_engine(url, pool_pre_ping=True)
            self._writer = self.engine
            self._write_lock = None
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writes = async_sessionmaker(self._writer, expire_on_commit=False)

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
        async with self._write_lock, self._writes() as session, session.begin():
            yield session

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
