"""Rows written together at the end of a transaction: those nothing in it reads back (a call's
segments, classifications and replies), one statement per table (an executemany). Added to
the session, they would be inserted one by one on SQLite: the ORM reads each new id back, and
SQLite cannot return a batch's ids in their order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


async def insert_rows(session: AsyncSession, rows: Sequence[SQLModel]) -> None:
    """Insert ``rows`` (their ids left to the database and not read), each table's together,
    tables in the order they first appear (a row may refer to an earlier one's table)."""
    if not rows:
        return
    await session.flush()  # the rows they refer to first
    by_table: dict[type[SQLModel], list[dict]] = {}  # type: ignore[type-arg]
    for row in rows:
        # Every column named, None too: one statement for the table's rows.
        by_table.setdefault(type(row), []).append(row.model_dump(exclude={"id"}))
    for model, values in by_table.items():
        await session.execute(insert(model.__table__), values)  # type: ignore[attr-defined]
