"""Shared fixtures: real databases (SQLite files, and PostgreSQL when configured), real services.

Storage and scheduler tests take ``db_url``, which runs each of them on SQLite and again on
PostgreSQL when ``CARELINE_TEST_POSTGRES_URL`` is set. Set but unreachable is a failure.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

from bot.clock import FixedClock
from bot.config import Config, parse_config
from bot.secrets import Secrets
from bot.services import Services
from intents import NLU, build_nlu
from intents.settings import NLUSettings
from storage.db import Database
from storage.migrate import upgrade
from tests.fakes.wechat_api import FakeWeChatApi

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ENV = "CARELINE_TEST_POSTGRES_URL"
START = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Rasa tests first: they train and serve a model for minutes, so on several workers
    (``make test``) they run beside the rest instead of after it."""
    items.sort(key=lambda item: item.get_closest_marker("rasa") is None)


def _migrate(url: URL) -> None:
    asyncio.run(upgrade(url))


# --- SQLite: migrate once into a template file, copy it for each test ---------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _migrate(make_url(f"sqlite+aiosqlite:///{path}"))
    return path


def _fresh_sqlite(template: Path, directory: Path) -> URL:
    path = directory / "careline.db"
    shutil.copyfile(template, path)
    return make_url(f"sqlite+aiosqlite:///{path}")


# --- PostgreSQL: migrate once into a template database, clone it for each test ------------------


def _pg_admin(url: URL):  # type: ignore[no-untyped-def]
    import psycopg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


def _postgres_base() -> URL | None:
    raw = os.environ.get(POSTGRES_ENV)
    if not raw:
        return None
    url = make_url(raw)
    return url.set(drivername="postgresql+asyncpg")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[URL]:
    base = _postgres_base()
    if base is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"careline_tpl_{uuid.uuid4().hex[:10]}"
    with _pg_admin(base) as conn:  # unreachable: this raises, and the test fails
        conn.execute(f'CREATE DATABASE "{name}"')
    template = base.set(database=name)
    try:
        _migrate(template)
        yield template
    finally:
        with _pg_admin(base) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_postgres(template: URL) -> URL:
    name = f"careline_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin(_postgres_base()) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"')
    return template.set(database=name)


def _drop_postgres(url: URL) -> None:
    with _pg_admin(_postgres_base()) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    """A freshly migrated database: an SQLite file, then PostgreSQL when configured."""
    if request.param == "sqlite":
        yield _fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    url = _fresh_postgres(request.getfixturevalue("postgres_template"))
    try:
        yield url
    finally:
        _drop_postgres(url)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> URL:
    """A freshly migrated SQLite file, for tests that need no PostgreSQL run."""
    return _fresh_sqlite(sqlite_template, tmp_path)


@pytest.fixture
async def database(db_url: URL) -> AsyncIterator[Database]:
    db = Database(db_url)
    yield db
    await db.close()


# --- configuration, secrets, services ----------------------------------------------------------


def make_secrets(**overrides: str) -> Secrets:
    values = {
        "api_token": "test-api-token-" + uuid.uuid4().hex,
        "field_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "session_secret": "test-session-" + uuid.uuid4().hex,
    }
    values.update(overrides)
    return Secrets(**values)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One NLU model for the whole run, trained on first use into a temporary directory."""
    return tmp_path_factory.mktemp("models")


def make_config(url: URL, model_dir: Path, **sections: dict) -> Config:
    raw = {
        "database": {"url": url.render_as_string(hide_password=False)},
        "nlu": {"model_dir": str(model_dir)},
        **sections,
    }
    return parse_config(raw)


@pytest.fixture(scope="session")
def nlu(model_dir: Path) -> NLU:
    """The real embedded NLU, loaded once: jieba's dictionary alone takes most of a second."""
    return build_nlu(NLUSettings(model_dir=model_dir))


@pytest.fixture
def secrets() -> Secrets:
    return make_secrets()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@asynccontextmanager
async def running_services(
    db_url: URL,
    model_dir: Path,
    nlu: NLU,
    secrets: Secrets,
    clock: FixedClock,
    **sections: dict[str, Any],
) -> AsyncIterator[Services]:
    """The services with these config sections (a channel that writes to mothers must be
    configured when they start). The scheduler stores jobs but runs none, and nothing runs in
    the background: tests drive the outbox (``outbox.run_due``) with the clock."""
    config = make_config(db_url, model_dir, **sections)
    running = await Services.start(config, secrets, clock=clock, nlu=nlu, run_jobs=False)
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def services(
    db_url: URL, model_dir: Path, nlu: NLU, secrets: Secrets, clock: FixedClock
) -> AsyncIterator[Services]:
    async with running_services(db_url, model_dir, nlu, secrets, clock) as running:
        yield running


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeWeChatApi]:
    """A local fake of the WeChat / WeCom API (tokens, customer-service and app messages)."""
    async with FakeWeChatApi() as api:
        yield api


@pytest.fixture
async def staff_client(
    db_url: URL, model_dir: Path, nlu: NLU, secrets: Secrets, clock: FixedClock
) -> AsyncIterator[Any]:
    """The app on a loopback port with accounts sw-chen and sw-lin (social workers), sup-liang
    (supervisor) and admin; ``await staff_client.signed_in("sw-chen")`` signs one in
    (see tests/staff_site.py)."""
    from tests.staff_site import staff_site

    async with staff_site(db_url, model_dir, nlu, secrets, clock) as site:
        yield site
