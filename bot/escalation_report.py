"""`careline escalations show ID` and `careline escalations ack ID`: an escalation as a worker
reads it on a terminal: its state, every notice try (who, through what, how it went) and its
history in the audit log."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot import texts
from bot.config import Config


def add_commands(sub: Any, run: Callable[[argparse.Namespace], Any]) -> None:
    escalations = sub.add_parser("escalations", help="look at or take an escalation")
    commands = escalations.add_subparsers(dest="escalations_command", required=True)
    show = commands.add_parser("show", help="state, notice tries and history of one escalation")
    show.add_argument("id", type=int)
    show.set_defaults(run=run, action="show")
    ack = commands.add_parser("ack", help="take an escalation (stops its climb)")
    ack.add_argument("id", type=int)
    ack.add_argument("--by", required=True, help="who takes it (a roster worker id or a name)")
    ack.set_defaults(run=run, action="ack")


async def show(config: Config, db: Any, escalation_id: int) -> list[str]:
    from storage import queries
    from storage.models import Escalation

    async with db.session() as session:
        escalation = await session.get(Escalation, escalation_id)
        if escalation is None:
            return [texts.ESCALATION_NOT_FOUND.format(id=escalation_id)]
        person = await queries.get_person(session, escalation.person_id)
        attempts = await queries.attempts_for(session, escalation_id)
        history = await queries.history_of(session, "escalation", escalation_id)
    zone = config.zone
    lines = texts.describe_escalation(escalation, person.pseudonym if person else "?", zone)
    lines.append(texts.NOTICE_ATTEMPTS_HEADING)
    lines += [texts.describe_attempt(a, zone) for a in attempts] or [f"  {texts.NONE}"]
    lines.append(texts.HISTORY_HEADING)
    lines += [texts.describe_event(e, zone) for e in history] or [f"  {texts.NONE}"]
    return lines


async def acknowledge(db: Any, escalation_id: int, by: str) -> str:
    from bot import escalations

    try:
        await escalations.acknowledge(db, escalation_id, by=by, at=datetime.now(UTC))
    except escalations.NotAllowed as exc:
        return texts.ESCALATION_NOT_TAKEN.format(reason=exc)
    return texts.ESCALATION_TAKEN.format(id=escalation_id, by=by)


def run_command(config: Config, secrets: Any, args: argparse.Namespace) -> list[str]:
    from storage.db import Database, database_url

    async def go() -> list[str]:
        db = Database(database_url(config.database.url, secrets.database_password))
        try:
            if args.action == "show":
                return await show(config, db, args.id)
            return [await acknowledge(db, args.id, args.by)]
        finally:
            await db.close()

    return asyncio.run(go())
