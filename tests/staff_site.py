"""The staff web pages running on a loopback port, with accounts for every role.

``staff_client`` (tests/conftest.py) gives a ``StaffSite``; ``await site.signed_in("sw-chen")``
signs in through the real sign-in form and returns a ``StaffClient`` whose ``session`` carries
the cookie and whose ``csrf`` is the session's token (as the pages' forms carry it).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from sqlalchemy.engine import URL

from bot.app import create_app
from bot.clock import FixedClock
from bot.secrets import Secrets
from bot.services import Services
from intents import NLU
from storage.models import Role, StaffUser

# The roster the accounts belong to (a staff username is a roster worker id).
ROSTER = {
    "workers": [
        {"id": "sw-chen", "name": "陈晓", "phone": "13800000001"},
        {"id": "sw-lin", "name": "林芳", "phone": "13800000002"},
        {"id": "sup-liang", "name": "梁督导", "phone": "13800000009"},
    ],
    "shifts": [
        {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "08:00",
            "end": "08:00",
            "primary": "sw-chen",
            "backup": "sw-lin",
        }
    ],
    "supervisors": ["sup-liang"],
}
ACCOUNTS = {
    "sw-chen": Role.SOCIAL_WORKER,
    "sw-lin": Role.SOCIAL_WORKER,
    "sup-liang": Role.SUPERVISOR,
    "admin": Role.ADMIN,
}
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_in(page: str) -> str:
    found = CSRF_INPUT.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)


@dataclass
class StaffClient:
    username: str
    session: aiohttp.ClientSession
    base: str
    csrf: str

    def url(self, path: str) -> str:
        return self.base + path

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.session.get(self.url(path), allow_redirects=False, **kwargs)

    async def post_form(self, path: str, data: dict[str, str], *, csrf: bool = True):  # type: ignore[no-untyped-def]
        form = {"csrf": self.csrf, **data} if csrf else data
        return await self.session.post(self.url(path), data=form, allow_redirects=False)


@dataclass
class StaffSite:
    services: Services
    server: TestServer
    passwords: dict[str, str]
    _clients: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def anonymous(self) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self._clients.append(session)
        return session

    async def signed_in(self, username: str, password: str | None = None) -> StaffClient:
        session = self.anonymous()
        response = await sign_in(session, self.base, username, password or self.passwords[username])
        assert response.status == 303, await response.text()
        async with session.get(self.base + "/staff/") as home:
            assert home.status == 200
            token = csrf_in(await home.text())
        return StaffClient(username, session, self.base, token)

    async def close(self) -> None:
        for session in self._clients:
            await session.close()


async def sign_in(
    session: aiohttp.ClientSession, base: str, username: str, password: str, next_: str = ""
) -> aiohttp.ClientResponse:
    """Fill and send the real sign-in form."""
    async with session.get(base + "/staff/sign-in") as form:
        token = csrf_in(await form.text())
    return await session.post(
        base + "/staff/sign-in",
        data={"csrf": token, "username": username, "password": password, "next": next_},
        allow_redirects=False,
    )


async def add_accounts(services: Services) -> dict[str, str]:
    passwords = {}
    hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024)  # fast in tests; same format
    async with services.db.write() as session:
        for username, role in ACCOUNTS.items():
            passwords[username] = f"pw-{username}-Test-123"
            session.add(
                StaffUser(
                    username=username,
                    display_name=username,
                    role=role,
                    password_hash=hasher.hash(passwords[username]),
                )
            )
    return passwords


@asynccontextmanager
async def staff_site(
    db_url: URL,
    model_dir: Path,
    nlu: NLU,
    secrets: Secrets,
    clock: FixedClock,
    **sections: dict[str, Any],
) -> AsyncIterator[StaffSite]:
    from tests.conftest import running_services

    sections.setdefault("roster", ROSTER)
    async with running_services(db_url, model_dir, nlu, secrets, clock, **sections) as services:
        passwords = await add_accounts(services)
        server = TestServer(create_app(services, secrets), host="127.0.0.1")
        await server.start_server()
        site = StaffSite(services, server, passwords)
        try:
            yield site
        finally:
            await site.close()
            await server.close()
