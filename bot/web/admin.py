"""``/staff/admin``: the staff accounts and the running configuration, for admins only.
Accounts are made and reset with ``careline users`` (a password is shown once, there)."""

from __future__ import annotations

import yaml
from aiohttp import web

from bot.web import access, texts
from bot.web.keys import SECRETS, SERVICES
from bot.web.pages import render
from storage import queries
from storage.models import Role


@access.require(Role.ADMIN)
async def admin(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    async with services.db.session() as session:
        users = await queries.all_staff(session)
    # The roster holds phone numbers: `careline roster` shows it to those who run the service.
    config = services.config.model_dump(mode="json", exclude={"roster"})
    return await render(
        request,
        "staff/admin.html",
        {
            "title": texts.ADMIN_TITLE,
            "users": users,
            "roles": texts.ROLE_LABELS,
            "config": yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
            "secrets": request.app[SECRETS].masked(),
        },
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/admin", admin)
