"""Counting what the database is asked: every statement, and the transactions that wrote.

Listens on every engine of the process (SQLAlchemy's ``Engine`` events), so it sees the read
and the write engines alike; run with background work off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class StatementLog:
    statements: list[str] = field(default_factory=list)
    write_transactions: int = 0
    _writing: set[int] = field(default_factory=set)

    def kinds(self) -> list[str]:
        """Each statement's first word (SELECT, INSERT...), for a readable failure."""
        return [s.split(None, 1)[0].upper() for s in self.statements]

    def _executed(self, conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)
        if statement.lstrip().upper().startswith(_WRITES):
            self._writing.add(id(conn.connection.dbapi_connection))

    def _committed(self, conn: Connection) -> None:
        key = id(conn.connection.dbapi_connection)
        if key in self._writing:
            self._writing.discard(key)
            self.write_transactions += 1

    def _rolled_back(self, conn: Connection) -> None:
        self._writing.discard(id(conn.connection.dbapi_connection))


@contextmanager
def statement_log() -> Iterator[StatementLog]:
    log = StatementLog()
    hooks = [
        ("before_cursor_execute", log._executed),
        ("commit", log._committed),
        ("rollback", log._rolled_back),
    ]
    for name, hook in hooks:
        event.listen(Engine, name, hook)
    try:
        yield log
    finally:
        for name, hook in hooks:
            event.remove(Engine, name, hook)
