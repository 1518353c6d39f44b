"""The staff side of the web app: sign-in, the pages, their static files. Each page module
registers its own routes; this one lists them."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.web import (
    admin,
    api,
    audit_log,
    case,
    contacts,
    exports,
    home,
    pages,
    queue,
    reports,
    signin,
)

STATIC = Path(__file__).parent / "static"


def setup_staff(app: web.Application) -> None:
    if aiohttp_jinja2.APP_KEY not in app:
        aiohttp_jinja2.setup(
            app, loader=jinja2.PackageLoader("bot.web", "templates"), autoescape=True
        )
    app.router.add_static("/staff/static", STATIC)
    app.on_response_prepare.append(pages.secure_headers)
    signin.setup(app)
    home.setup(app)
    admin.setup(app)
    queue.setup(app)  # the escalation queue, its live updates, its JSON twin
    case.setup(app)  # a mother's case, notes and callbacks, its JSON twin
    audit_log.setup(app)
    contacts.setup(app)  # the contact log for supervisors, and its JSON twin
    exports.setup(app)  # its CSV / XLSX exports
    reports.setup(app)  # the programme's monthly and annual counts
    api.setup(app)  # the OpenAPI description of every endpoint added above
