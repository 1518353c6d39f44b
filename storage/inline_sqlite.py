"""aiosqlite's interface over a plain ``sqlite3`` connection that runs on the event loop.

SQLAlchemy's aiosqlite dialect takes it through ``create_async_engine(async_creator=...)``.
Careline's SQLite writer uses it: a write transaction is a handful of statements of a few
microseconds each on a local file, while aiosqlite sends every statement to a worker thread and
back through the busy event loop (~0.3–1 ms each). With one writer at a time, those round trips
were the ceiling of the whole service. Readers keep aiosqlite: a long report must not stall the
loop, and readers do not queue behind each other.

Only what SQLAlchemy's adapter calls is here (``sqlalchemy/dialects/sqlite/aiosqlite.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any


async def connect(database: str, **kwargs: Any) -> InlineConnection:
    # isolation_level=None: no implicit BEGIN from the driver; SQLAlchemy emits BEGIN itself.
    return InlineConnection(sqlite3.connect(database, isolation_level=None, **kwargs))


class InlineConnection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    @property
    def sqlite3_connection(self) -> sqlite3.Connection:
        """For ``storage.direct``, which runs the per-message statements on it."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return InlineCursor(self._conn.execute(sql, parameters))

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        """Terminate (SQLAlchemy's hard close of a connection it gave up on)."""
        self._conn.close()


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()
