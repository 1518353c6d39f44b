"""New rows written without flushing the session: what is pending in it stays pending, so a
transaction's changes to rows it holds go out together at its end (one UPDATE for many).

``insert_row`` writes one row at once and reads its id back (a contact, an escalation: their
ids are needed right away). ``insert_rows`` writes those nothing in the transaction reads back
(a call's segments, classifications and replies) together at its end, one statement per table
(an executemany): added to the session, they would be inserted one by one on SQLite (the ORM
reads each new id back, and SQLite cannot return a batch's ids in their order)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import SQLModel

Row = TypeVar("Row", bound=SQLModel)


async def insert_row(session: AsyncSession, row: Row) -> Row:
    """``row`` inserted now (a core INSERT: the session is not flushed), with its id, and in the
    session as it stands."""
    table = type(row).__table__  # type: ignore[attr-defined]
    statement = insert(table).values(row.model_dump(exclude={"id"})).returning(table.c.id)
    row.id = await session.scalar(statement)  # type: ignore[attr-defined]
    make_transient_to_detached(row)
    session.add(row)
    return row


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
