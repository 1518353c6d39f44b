"""INSERT ... that skips a duplicate in the database, in each dialect's own spelling.

A duplicate is a normal outcome here (a retried delivery, two first messages of one new mother),
so it is not worth a savepoint and an exception.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def _insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT in the session's dialect's own spelling (its ON CONFLICT clauses)."""
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


async def insert_unless_duplicate(
    session: AsyncSession, table: Table, values: dict[str, Any]
) -> int | None:
    """The new row's id, or None when a unique constraint already holds such a row."""
    insert = _insert(session, table).values(values)
    statement = insert.on_conflict_do_nothing().returning(table.c.id)
    return await session.scalar(statement)  # type: ignore[no-any-return]


async def insert_all_unless_duplicate(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]]
) -> None:
    """Several rows in one statement, each skipped when a unique constraint already holds
    such a row."""
    await session.execute(_insert(session, table).on_conflict_do_nothing(), rows)


async def insert_all_returning(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], key: str
) -> dict[Any, int]:
    """Several rows, each skipped when a unique constraint already holds such a row: the new
    rows' ids by their ``key`` column (the order of RETURNING is not guaranteed, so the rows
    are told apart by ``key``, which must be distinct among them). An executemany with
    RETURNING: SQLAlchemy sends it as few multi-row statements ("insertmanyvalues"), compiled
    once, however many rows (a transcript may bring 2,000 segments)."""
    statement = _insert(session, table).on_conflict_do_nothing().returning(table.c[key], table.c.id)
    return {row[0]: row[1] for row in await session.execute(statement, rows)}


async def insert_or_replace(
    session: AsyncSession,
    table: Table,
    values: dict[str, Any],
    *,
    key: str,
    unless_newer: str,
) -> bool:
    """Insert the row, or overwrite the one with the same ``key``; True if written.

    A stored row whose ``unless_newer`` column is already later than the new value's is kept:
    a slow writer must not put back what a faster one replaced.
    """
    insert = _insert(session, table).values(values)
    statement = insert.on_conflict_do_update(
        index_elements=[key],
        set_={name: insert.excluded[name] for name in values if name != key},
        where=table.c[unless_newer] <= insert.excluded[unless_newer],
    ).returning(table.c.id)
    return await session.scalar(statement) is not None
