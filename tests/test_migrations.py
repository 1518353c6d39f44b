"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import sync_url


def test_migrated_database_matches_the_models(db_url: URL) -> None:
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == [], "a model changed without a migration: careline db revision -m ..."


def test_upgrading_a_database_in_use_keeps_its_rows_and_links(db_url: URL) -> None:
    """0004 rebuilds SQLite's message table (a new reference): nothing in it may be lost."""
    from alembic import command

    from storage.migrate import alembic_config

    config = alembic_config(db_url)
    command.downgrade(config, "0003")  # a database as the previous release left it
    at = "2026-03-08 01:00:00.000000"
    engine = create_engine(sync_url(db_url))
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO person (id, pseudonym, created_at) VALUES (1, 'M-OLD001', :at)"),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO message (id, person_id, channel, external_id, direction, status,"
                    " content_type, text, addressed, sensitive, sent_at, received_at) VALUES"
                    " (1, 1, 'api', 'old-1', 'in', 'handled', 'text', '我不想活了', true, false,"
                    " :at, :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO escalation (id, person_id, message_id, priority, reason,"
                    " risk_level, status, level, created_at, updated_at, sla_deadline) VALUES"
                    " (1, 1, 1, 'P1', 'r', 'high', 'open', 0, :at, :at, :at)"
                ),
                {"at": at},
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, text, escalation_id FROM message")).all()
            escalation = connection.execute(text("SELECT message_id FROM escalation")).scalar()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(1, "我不想活了", None)]
    assert escalation == 1


def test_0008_adds_and_removes_the_replay_and_token_tables(db_url: URL) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from storage.migrate import alembic_config

    def tables() -> set[str]:
        engine = create_engine(sync_url(db_url))
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    config = alembic_config(db_url)
    command.downgrade(config, "0008")
    assert {"accepted_request", "api_token"}.isdisjoint(tables())
    command.upgrade(config, "head")
    assert {"accepted_request", "api_token"} <= tables()
