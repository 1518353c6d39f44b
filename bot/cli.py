"""The ``careline`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bot.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from bot.escalation_report import add_commands as add_escalation_commands
from bot.secrets import DEFAULT_SECRETS_FILE, SecretsError, generate_missing, load_secrets
from bot.staff_accounts import add_commands as add_user_commands
from bot.transcript_import import add_command as add_import_command

log = logging.getLogger("careline")


class CommandError(Exception):
    """A command failed in a way the user can fix; printed as one line."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _parsed["config"] = args.config
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        return args.run(args) or 0
    except (ConfigError, SecretsError, CommandError) as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="careline", description="Careline: care-line gateway for mothers in hardship."
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("CARELINE_CONFIG", DEFAULT_CONFIG_PATH)),
        help="path to config.yml (default: $CARELINE_CONFIG or ./config.yml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the gateway")
    serve.set_defaults(run=_serve)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(run=_db_upgrade)
    revision = db_sub.add_parser(
        "revision", help="write a migration for changed models (developers; database at head)"
    )
    revision.add_argument("-m", "--message", required=True, help="what the migration does")
    revision.set_defaults(run=_db_revision)

    config = sub.add_parser("config", help="configuration commands")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    config_sub.add_parser(
        "check", help="validate and print the effective configuration, secrets masked"
    ).set_defaults(run=_config_check)

    secrets = sub.add_parser("secrets", help="secret commands")
    secrets_sub = secrets.add_subparsers(dest="secrets_command", required=True, metavar="COMMAND")
    secrets_sub.add_parser(
        "init", help=f"generate missing secrets into {DEFAULT_SECRETS_FILE} (mode 0600)"
    ).set_defaults(run=_secrets_init)

    roster = sub.add_parser("roster", help="who is on duty now and in the next days; the gaps")
    roster.add_argument("--days", type=int, default=7, help="how many days ahead (default: 7)")
    roster.add_argument("--at", help="another moment than now, ISO 8601 (local time if no offset)")
    roster.set_defaults(run=_roster)

    add_escalation_commands(sub, _escalations)
    add_import_command(sub, _import_transcripts)
    add_user_commands(sub, _users)

    send = sub.add_parser("send", help="send one message as a mother; print what Careline did")
    send.add_argument("text")
    send.add_argument("--sender", default="cli-user", help="who is writing (default: cli-user)")
    send.add_argument("--json", action="store_true", help="print the raw JSON outcome")
    send.add_argument("--local", action="store_true", help="handle in-process, not via service")
    send.set_defaults(run=_send)

    chat = sub.add_parser("chat", help="talk to Careline in the terminal, as a mother")
    chat.add_argument("--sender", default=f"terminal-{os.environ.get('USER', 'user')}")
    chat.add_argument("--details", action="store_true", help="also show classification")
    chat.add_argument("--local", action="store_true", help="handle in-process, not via service")
    chat.set_defaults(run=_chat)

    _add_nlu_commands(sub, _nlu_settings)
    return parser


# The NLU commands ask for their settings only once the arguments are parsed.
_parsed: dict[str, Any] = {}


def _add_nlu_commands(sub: Any, settings: Callable[[], Any]) -> None:
    try:
        from intents.cli import add_commands
    except ImportError:  # the NLU issue's commands are not there yet
        return
    add_commands(sub, settings)


def _nlu_settings() -> Any:
    from bot.services import nlu_settings

    return nlu_settings(load_config(_parsed["config"]))


# --- commands -------------------------------------------------------------------------------


def _config_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    effective = {"config": str(args.config), **config.model_dump(mode="json")}
    print(yaml.safe_dump(effective, allow_unicode=True, sort_keys=False).rstrip())
    print("secrets:")
    for name, masked in load_secrets().masked().items():
        print(f"  {name}: {masked}")
    print("configuration OK")
    return 0


def _roster(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.roster.report import describe_roster

    config = load_config(args.config)
    if not 1 <= args.days <= 60:
        raise CommandError("--days must be between 1 and 60")
    now = datetime.now(UTC)
    if args.at:
        try:
            now = datetime.fromisoformat(args.at)
        except ValueError:
            raise CommandError(f"--at: not an ISO 8601 time: {args.at!r}") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=config.zone)
    print("\n".join(describe_roster(config.roster, now, config.zone, days=args.days)))
    return 0


def _escalations(args: argparse.Namespace) -> int:
    from bot.escalation_report import run_command

    print("\n".join(run_command(load_config(args.config), load_secrets(), args)))
    return 0


def _users(args: argparse.Namespace) -> int:
    from bot.staff_accounts import run_command

    return run_command(load_config(args.config), load_secrets(), args)


def _import_transcripts(args: argparse.Namespace) -> int:
    from bot.services import ServiceError
    from bot.transcript_import import run_command

    unreadable = [str(path) for path in args.files if not path.is_file()]
    if unreadable:
        raise CommandError(f"no such file: {', '.join(unreadable)}")
    try:
        return run_command(load_config(args.config), load_secrets(), args)
    except ServiceError as exc:
        raise CommandError(str(exc)) from None


def _secrets_init(_args: argparse.Namespace) -> int:
    path = Path(os.environ.get("CARELINE_SECRETS_FILE", DEFAULT_SECRETS_FILE))
    created = generate_missing(path)
    if created:
        print(f"generated {', '.join(created)} into {path} (mode 0600)")
    else:
        print(f"secrets already present ({path} or environment)")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import database_url
    from storage.migrate import upgrade

    config = load_config(args.config)
    url = database_url(config.database.url, load_secrets().database_password)
    try:
        asyncio.run(upgrade(url))
    except Exception as exc:  # a database that is down or refuses us: one line, no traceback
        raise CommandError(f"database upgrade failed: {type(exc).__name__}: {exc}") from None
    print(f"database at {url.render_as_string(hide_password=True)} is up to date")
    return 0


def _db_revision(args: argparse.Namespace) -> int:
    from storage.db import database_url
    from storage.migrate import revision

    config = load_config(args.config)
    url = database_url(config.database.url, load_secrets().database_password)
    try:
        revision(url, args.message)
    except Exception as exc:
        raise CommandError(f"writing the migration failed: {type(exc).__name__}: {exc}") from None
    return 0


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    secrets = load_secrets()
    secrets.require("api_token")
    asyncio.run(_run_server(config, secrets))
    return 0


async def _run_server(config: Config, secrets: Any) -> None:
    from aiohttp import web

    from bot.app import create_app
    from bot.services import ServiceError, Services

    try:
        services = await Services.start(config, secrets)
    except ServiceError as exc:
        raise CommandError(str(exc)) from None
    runner = web.AppRunner(create_app(services, secrets), access_log=None)
    await runner.setup()
    host, port = config.service.host, config.service.port
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        await services.close()
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    base = f"http://{host}:{port}"
    print(f"Careline is running at {base}", flush=True)
    print(f"  health:    {base}/healthz   readiness: {base}/readyz")
    print(f"  staff:     {base}/staff/  (accounts: careline users)")
    print(f"  API:       POST {base}/api/v1/messages  (Bearer $CARELINE_API_TOKEN)")
    print('  try it:    .venv/bin/careline send "你好"   or   .venv/bin/careline chat')
    print("Press Ctrl+C to stop.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()  # finishes requests in flight before closing the database
        await services.close()


# --- talking to Careline as a mother ----------------------------------------------------------


class _Conversation:
    """Sends messages through the running service, or in-process when it is not running."""

    def __init__(self, args: argparse.Namespace, channel: str) -> None:
        self.config = load_config(args.config)
        self.secrets = load_secrets()
        self.channel = channel
        self.sender = args.sender
        self.local = args.local
        self._services: Any = None
        self._session: Any = None

    async def send(self, text: str) -> tuple[dict[str, Any], bool]:
        """The outcome, and whether it was handled in-process."""
        if not self.local:
            try:
                return await self._send_http(text), False
            except OSError:
                self.local = True
        return await self._send_local(text), True

    async def _send_http(self, text: str) -> dict[str, Any]:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        url = f"http://{self.config.service.host}:{self.config.service.port}/api/v1/messages"
        headers = {"Authorization": f"Bearer {self.secrets.require('api_token')}"}
        body = {"sender": self.sender, "text": text, "channel": self.channel}
        async with self._session.post(url, json=body, headers=headers) as response:
            payload = await response.json(content_type=None)
            if response.status != 200:
                raise CommandError(f"service answered {response.status}: {payload.get('error')}")
            return payload

    async def _send_local(self, text: str) -> dict[str, Any]:
        from bot.message import BadText, IdentityKind, InboundMessage, clean_text
        from bot.services import ServiceError, Services

        if self._services is None:
            try:
                self._services = await Services.start(self.config, self.secrets, run_jobs=False)
            except ServiceError as exc:
                raise CommandError(str(exc)) from None
        try:
            cleaned = clean_text(text)
        except BadText as exc:
            raise CommandError(str(exc)) from None
        inbound = InboundMessage(
            channel=self.channel,
            sender_id=self.sender,
            sender_kind=IdentityKind.API if self.channel == "api" else IdentityKind.TERMINAL,
            text=cleaned,
            sent_at=self._services.clock.now(),
        )
        outcome = await self._services.pipeline.handle(inbound)
        return json.loads(json.dumps(outcome.to_dict(), ensure_ascii=False, default=str))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._services is not None:
            await self._services.close()


def _send(args: argparse.Namespace) -> int:
    from bot.texts import LOCAL_MODE, describe_outcome

    async def run() -> int:
        conversation = _Conversation(args, channel="api")
        try:
            outcome, local = await conversation.send(args.text)
        finally:
            await conversation.close()
        if args.json:
            print(json.dumps(outcome, ensure_ascii=False, indent=2))
        else:
            print("\n".join(describe_outcome(outcome, conversation.config.zone)))
            if local:
                print(LOCAL_MODE)
        return 0

    return asyncio.run(run())


def _chat(args: argparse.Namespace) -> int:
    from bot import texts

    async def run() -> int:
        conversation = _Conversation(args, channel="terminal")
        print(texts.CHAT_WELCOME)
        try:
            while True:
                try:
                    line = await asyncio.to_thread(input, texts.CHAT_PROMPT)
                except EOFError:
                    break
                if line.strip() in ("/quit", "/exit", "/q"):
                    break
                if not line.strip():
                    continue
                outcome, _ = await conversation.send(line)
                reply = outcome.get("reply")
                print(texts.CHAT_BOT + (reply["text"] if reply else "……"))
                if args.details:
                    for detail in texts.describe_outcome(outcome, conversation.config.zone)[1:]:
                        print("    " + detail)
        finally:
            await conversation.close()
        print(texts.CHAT_BYE)
        return 0

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
