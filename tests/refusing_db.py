"""A database that takes messages but refuses their decisions: a trigger on the
classification table, the first row a decision writes. What a decision that cannot be written
meets, with no code of ours patched."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import Database

_REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_decision BEFORE INSERT ON classification "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_decision() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_decision BEFORE INSERT ON classification "
        "FOR EACH ROW EXECUTE FUNCTION refuse_decision()",
    ],
}
_ACCEPT = {
    "sqlite": ["DROP TRIGGER refuse_decision"],
    "postgresql": [
        "DROP TRIGGER refuse_decision ON classification",
        "DROP FUNCTION refuse_decision()",
    ],
}


async def refuse_decisions(db: Database, *, refuse: bool = True) -> None:
    async with db.write() as session:
        for statement in (_REFUSE if refuse else _ACCEPT)[db.dialect]:
            await session.execute(text(statement))
