"""Database engine and sessions (SQLAlchemy 2 async): SQLite by default, PostgreSQL too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
        from pathlib import Path

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed


def sync_url(url: URL) -> URL:
    """The same database through a synchronous driver (Alembic, APScheduler's job store)."""
    return url.set(drivername=SYNC_DRIVERS.get(url.drivername, url.drivername))


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the scheduler's job store and the gateway use one file at once;
    # busy_timeout makes a writer wait instead of failing.
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
        self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=True)
        tune_sqlite_engine(self.engine.sync_engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()
