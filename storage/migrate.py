"""Runs Alembic migrations programmatically (``careline db upgrade``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import URL

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: URL) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not an ini option: the ini parser would mangle a password's "%".
    config.attributes["url"] = url
    config.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=True))
    return config


def _upgrade(url: URL, revision: str) -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: URL, revision: str = "head") -> None:
    # env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(_upgrade, url, revision)


def revision(url: URL, message: str) -> None:
    """Write the next migration (numbered after the head: 0005, 0006...) from the models."""
    head = head_revision()
    number = int(head) + 1 if head and head.isdigit() else 1
    command.revision(
        alembic_config(url), message=message, autogenerate=True, rev_id=f"{number:04d}"
    )


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()
