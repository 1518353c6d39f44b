"""The contact log for supervisors: ``GET /staff/contacts`` and its JSON twin
``GET /staff/api/v1/contacts`` (same filters, same cursors, same view model)."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from bot.web import texts
from bot.web.access import require
from bot.web.contact_filters import RISK_ORDER, parse_filters
from bot.web.contact_view import contact_log, worker_choices
from bot.web.keys import SERVICES
from bot.web.pages import render
from intents import Intent, ServiceType
from storage.models import Role

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)


@require(*SUPERVISORS)
async def contacts_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    parsed = parse_filters(request.query, services.config.zone)
    log = await contact_log(services, parsed)
    return await render(
        request,
        "staff/contacts.html",
        {
            "title": texts.CONTACTS_TITLE,
            "log": log,
            "form": parsed.values,
            "invalid": parsed.invalid,
            "filtered": bool(parsed.values),
            "query": parsed.query,
            "choices": {
                "channel": list(texts.CHANNEL_LABELS.items()),
                "service": [(s.value, s.value) for s in ServiceType],
                "intent": [(i.value, texts.INTENT_LABELS.get(i.value, i.value)) for i in Intent],
                "risk": [(r, texts.RISK_LABELS.get(r, r)) for r in RISK_ORDER],
            },
            "workers": worker_choices(services),
        },
    )


@require(*SUPERVISORS)
async def contacts_api(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    parsed = parse_filters(request.query, services.config.zone)
    log = await contact_log(services, parsed)
    return web.json_response(
        {**asdict(log), "filters": parsed.values, "invalid": parsed.invalid},
        headers={"Cache-Control": "no-store"},
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/contacts", contacts_page)
    app.router.add_get("/staff/api/v1/contacts", contacts_api)
