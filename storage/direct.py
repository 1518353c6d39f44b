"""Running the per-message Core statements straight on the SQLite writer's connection.

SQLAlchemy's async session costs ~130-170 us to run one already-compiled statement (greenlet
hops, execution context, result wrapping), SQLite ~25 us to run it; every message runs a dozen,
on the one event loop. On the inline SQLite writer (``storage.inline_sqlite``) a statement is
compiled once for the dialect and executed on the ``sqlite3`` connection with SQLAlchemy's own
bind and result processors, so values go in and come out exactly as through SQLAlchemy (tested
against it). Any other session (PostgreSQL, the aiosqlite readers) executes the same statement
through SQLAlchemy. Both run inside the session's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement

from storage.inline_sqlite import InlineConnection

Row = dict[str, Any]
_INFO_KEY = "careline.direct"


class Executor(Protocol):
    dialect_name: str

    async def execute(self, statement: ClauseElement, params: Mapping[str, Any]) -> int:
        """Run a statement; the number of rows it changed."""

    async def first(self, statement: ClauseElement, params: Mapping[str, Any]) -> Row | None:
        """The first row (by column key), or None."""

    async def all(self, statement: ClauseElement, params: Mapping[str, Any]) -> list[Row]: ...

    async def scalar(self, statement: ClauseElement, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""


Tx = AsyncSession | Executor
"""Where a query runs: a session (``Database.write``) or a transaction's executor
(``Database.transaction``)."""


async def executor(tx: Tx) -> Executor:
    """The executor for ``tx``: itself, or the one of a session's transaction (begun if it was
    not), kept for the transaction's lifetime."""
    if not isinstance(tx, AsyncSession):
        return tx
    session = tx
    transaction = session.sync_session.get_transaction()
    found = session.info.get(_INFO_KEY)
    if found is not None and transaction is not None and found[0] is transaction:
        return found[1]  # type: ignore[no-any-return]
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    made: Executor
    if isinstance(driver, InlineConnection):
        made = Direct(driver.sqlite3_connection, connection.dialect)
    else:
        made = ThroughSession(session)
    # Keyed by the transaction: after a commit the session may hold another connection.
    session.info[_INFO_KEY] = (session.sync_session.get_transaction(), made)
    return made


class ThroughSession:
    """Statements through SQLAlchemy, in the session's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.dialect_name = session.bind.dialect.name  # type: ignore[union-attr]

    async def execute(self, statement: ClauseElement, params: Mapping[str, Any]) -> int:
        result = await self._session.execute(statement, dict(params))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def first(self, statement: ClauseElement, params: Mapping[str, Any]) -> Row | None:
        row = (await self._session.execute(statement, dict(params))).mappings().first()
        return dict(row) if row is not None else None

    async def all(self, statement: ClauseElement, params: Mapping[str, Any]) -> list[Row]:
        rows = (await self._session.execute(statement, dict(params))).mappings().all()
        return [dict(row) for row in rows]

    async def scalar(self, statement: ClauseElement, params: Mapping[str, Any]) -> Any:
        return await self._session.scalar(statement, dict(params))


class Direct:
    """Statements on a ``sqlite3`` connection, in the transaction it is in."""

    def __init__(self, connection: sqlite3.Connection, dialect: Dialect) -> None:
        self._connection = connection
        self._dialect = dialect
        self.dialect_name = dialect.name

    async def execute(self, statement: ClauseElement, params: Mapping[str, Any]) -> int:
        compiled = prepare(statement, self._dialect)
        with translated(compiled.sql):
            cursor = self._connection.execute(compiled.sql, compiled.bind(params))
            if compiled.columns:
                cursor.fetchall()  # run a RETURNING statement to its end
            return cursor.rowcount

    async def first(self, statement: ClauseElement, params: Mapping[str, Any]) -> Row | None:
        rows = self._rows(prepare(statement, self._dialect), params)
        return rows[0] if rows else None

    async def all(self, statement: ClauseElement, params: Mapping[str, Any]) -> list[Row]:
        return self._rows(prepare(statement, self._dialect), params)

    async def scalar(self, statement: ClauseElement, params: Mapping[str, Any]) -> Any:
        row = await self.first(statement, params)
        return next(iter(row.values())) if row else None

    def _rows(self, compiled: Prepared, params: Mapping[str, Any]) -> list[Row]:
        with translated(compiled.sql):
            rows = self._connection.execute(compiled.sql, compiled.bind(params)).fetchall()
        return [compiled.row(row) for row in rows]


@contextmanager
def translated(statement: str | None = None) -> Iterator[None]:
    """sqlite3's errors as SQLAlchemy's (``OperationalError``, ``IntegrityError``...), as every
    other database call raises them: callers (the 503 on a broken database) see one kind."""
    try:
        yield
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


Processor = Callable[[Any], Any] | None
_MISSING = object()


@dataclass(frozen=True)
class Prepared:
    """A statement compiled for one dialect, with how to bind its parameters and read its rows."""

    sql: str
    binds: tuple[tuple[str, Any, Processor], ...]  # in order: name, fixed value, processor
    columns: tuple[tuple[str, Processor], ...]  # result columns: key, processor

    def bind(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, fixed, process in self.binds:
            value = params.get(name, fixed)
            if value is _MISSING:
                raise KeyError(f"statement parameter {name!r} not given")
            values.append(process(value) if process is not None else value)
        return values

    def row(self, raw: tuple[Any, ...]) -> Row:
        return {
            key: process(value) if process is not None else value
            for (key, process), value in zip(self.columns, raw, strict=True)
        }


_PREPARED: dict[tuple[int, str], tuple[ClauseElement, Prepared]] = {}


def prepare(statement: ClauseElement, dialect: Dialect) -> Prepared:
    """Compile once per statement object (the per-message statements are module constants)."""
    key = (id(statement), dialect.name)
    found = _PREPARED.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    prepared = _compile(statement, dialect)
    _PREPARED[key] = (statement, prepared)  # holding the statement keeps its id unique
    return prepared


def _compile(statement: ClauseElement, dialect: Dialect) -> Prepared:
    compiled = statement.compile(dialect=dialect)
    if dialect.paramstyle != "qmark" or compiled.positiontup is None:
        raise TypeError(f"direct execution needs positional parameters, not {dialect.paramstyle}")
    binds = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.expanding:
            raise TypeError(f"{name!r}: an IN list of parameters is not supported here")
        fixed = _MISSING if bind.required else bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, fixed, process))
    columns = tuple(
        (column.key, column.type.dialect_impl(dialect).result_processor(dialect, None))
        for column in getattr(statement, "exported_columns", ())
    )
    return Prepared(compiled.string, tuple(binds), columns)
