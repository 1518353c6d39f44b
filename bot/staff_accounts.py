"""`careline users ...`: staff accounts for the web pages, made and reset on the server.

A new or reset password is generated and printed once (never stored in a file, never a
default); a lost one is reset again by an admin. ``users first-admin`` (run by ``make run``)
makes the first admin only while there is no account at all.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher

from bot import texts
from bot.config import Config
from storage import queries
from storage.db import Database, database_url
from storage.models import Role, StaffUser

PASSWORD_BYTES = 12  # 16 url-safe characters
FIRST_ADMIN = "admin"


def add_commands(sub: Any, run: Callable[[argparse.Namespace], Any]) -> None:
    users = sub.add_parser("users", help="staff accounts for the web pages")
    commands = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    add = commands.add_parser("add", help="add a staff account; prints its password once")
    add.add_argument("username", help="the roster worker id (e.g. sw-chen) or a login name")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.SOCIAL_WORKER.value)
    add.add_argument("--name", help="display name (default: the roster's name)")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin instead"
    )
    add.set_defaults(run=run, action="add")
    reset = commands.add_parser(
        "reset", help="new password (printed once); signs the account out everywhere"
    )
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    reset.set_defaults(run=run, action="reset")
    disable = commands.add_parser("disable", help="switch an account off (signed out at once)")
    disable.add_argument("username")
    disable.set_defaults(run=run, action="disable")
    commands.add_parser("list", help="the accounts").set_defaults(run=run, action="list")
    commands.add_parser(
        "first-admin", help="make the first admin if there is no account (make run does this)"
    ).set_defaults(run=run, action="first-admin")


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def run_command(config: Config, secrets_: Any, args: argparse.Namespace) -> int:
    password = _stdin_password() if getattr(args, "password_stdin", False) else None

    async def go() -> int:
        db = Database(database_url(config.database.url, secrets_.database_password))
        try:
            return await _ACTIONS[args.action](config, db, args, password)
        finally:
            await db.close()

    return asyncio.run(go())


async def _add(config: Config, db: Database, args: argparse.Namespace, given: str | None) -> int:
    password = given or new_password()
    async with db.write() as session:
        if await queries.staff_by_username(session, args.username) is not None:
            print(texts.USER_EXISTS.format(username=args.username), file=sys.stderr)
            return 1
        user = StaffUser(
            username=args.username,
            display_name=args.name or _roster_name(config, args.username),
            role=args.role,
            password_hash=PasswordHasher().hash(password),
        )
        session.add(user)
        await session.flush()
        await _audit(session, "staff.user_added", user, {"role": args.role})
    print(texts.USER_ADDED.format(username=args.username, role=args.role))
    if given is None:
        print(texts.PASSWORD_ONCE.format(password=password))
    return 0


async def _reset(config: Config, db: Database, args: argparse.Namespace, given: str | None) -> int:
    password = given or new_password()
    async with db.write() as session:
        user = await queries.staff_by_username(session, args.username)
        if user is None:
            print(texts.USER_UNKNOWN.format(username=args.username), file=sys.stderr)
            return 1
        user.password_hash = PasswordHasher().hash(password)
        user.active = True
        ended = await queries.end_sessions_of(session, user.id)  # type: ignore[arg-type]
        await _audit(session, "staff.password_reset", user, {"sessions_ended": ended})
    print(texts.USER_RESET.format(username=args.username))
    if given is None:
        print(texts.PASSWORD_ONCE.format(password=password))
    return 0


async def _disable(config: Config, db: Database, args: argparse.Namespace, _: str | None) -> int:
    async with db.write() as session:
        user = await queries.staff_by_username(session, args.username)
        if user is None:
            print(texts.USER_UNKNOWN.format(username=args.username), file=sys.stderr)
            return 1
        user.active = False
        ended = await queries.end_sessions_of(session, user.id)  # type: ignore[arg-type]
        await _audit(session, "staff.user_disabled", user, {"sessions_ended": ended})
    print(texts.USER_DISABLED.format(username=args.username))
    return 0


async def _list(config: Config, db: Database, args: argparse.Namespace, _: str | None) -> int:
    async with db.session() as session:
        users = await queries.all_staff(session)
    for user in users:
        state = "" if user.active else f"  ({texts.USER_INACTIVE})"
        print(f"{user.username}\t{user.role}\t{user.display_name}{state}")
    return 0


async def _first_admin(
    config: Config, db: Database, args: argparse.Namespace, _: str | None
) -> int:
    password = new_password()
    async with db.write() as session:
        if await queries.count_staff(session):
            return 0
        user = StaffUser(
            username=FIRST_ADMIN,
            display_name=texts.FIRST_ADMIN_NAME,
            role=Role.ADMIN,
            password_hash=PasswordHasher().hash(password),
        )
        session.add(user)
        await session.flush()
        await _audit(session, "staff.user_added", user, {"role": Role.ADMIN.value})
    sign_in = f"http://{config.service.host}:{config.service.port}/staff/sign-in"
    print(texts.FIRST_ADMIN_MADE.format(username=FIRST_ADMIN, password=password, sign_in=sign_in))
    return 0


_ACTIONS = {
    "add": _add,
    "reset": _reset,
    "disable": _disable,
    "list": _list,
    "first-admin": _first_admin,
}


async def _audit(session: Any, action: str, user: StaffUser, detail: dict[str, Any]) -> None:
    await queries.audit(
        session,
        actor="cli",
        action=action,
        object_type="staffuser",
        object_id=user.id,
        at=datetime.now(UTC),
        detail={"username": user.username, **detail},
    )


def _roster_name(config: Config, username: str) -> str:
    try:
        return config.roster.worker(username).name
    except KeyError:
        return username


def _stdin_password() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 10:
        raise SystemExit(texts.PASSWORD_TOO_SHORT)
    return password
