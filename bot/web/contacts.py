"""The contact log for supervisors: ``GET /staff/contacts`` and its JSON twin
``GET /staff/api/v1/contacts`` (same filters, same cursors, same view model)."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.web import api, texts
from bot.web.access import current_staff, require
from bot.web.contact_filters import RISK_ORDER, SEARCH_MAX, WORKER_MAX, parse_filters
from bot.web.contact_view import contact_log, worker_choices
from bot.web.keys import SERVICES
from bot.web.pages import render
from intents import Intent, ServiceType
from storage import queries
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


class ContactQuery(BaseModel):
    """The contact log's filters (local days, both ends included) and its page cursors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")
    channel: str | None = Field(default=None, max_length=32)
    service: str | None = Field(default=None, max_length=8, description="陪伴式 / 赋能式 / 支持式")
    intent: str | None = Field(default=None, max_length=32)
    worker: str | None = Field(default=None, max_length=WORKER_MAX)
    risk: str | None = Field(default=None, max_length=16)
    q: str | None = Field(default=None, max_length=SEARCH_MAX, description="search in summaries")
    after: str | None = Field(default=None, max_length=200, description="`next` of a page")
    before: str | None = Field(default=None, max_length=200, description="`previous` of a page")


class ContactLogOut(BaseModel):
    rows: list[dict[str, Any]]
    next: str | None
    previous: str | None
    filters: dict[str, str]


async def contacts_api(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    query = api.query_model(request, ContactQuery)
    given = {k: str(v) for k, v in query.model_dump(by_alias=True, exclude_none=True).items()}
    parsed = parse_filters(given, services.config.zone)
    if parsed.invalid:  # a value that is none of the known choices
        return api.ok(
            api.ErrorBody(
                error="invalid input",
                fields=[
                    {"field": name, "problem": "not one of the known values"}
                    for name in parsed.invalid_names
                ],
            ),
            status=400,
        )
    log = await contact_log(services, parsed)
    # A script can page through the whole log here: each page is an export like the CSV's.
    async with services.db.write() as session:
        await queries.audit(
            session,
            actor=current_staff(request).username,
            action="contacts.export",
            object_type="contact",
            object_id=None,
            at=services.clock.now(),
            detail={
                "format": "json",
                "filters": parsed.values,
                "rows": len(log.rows),
                "complete": True,
            },
        )
    return api.ok(
        ContactLogOut(rows=log.rows, next=log.next, previous=log.previous, filters=parsed.values)
    )


ENDPOINT = api.Endpoint(
    "GET",
    "/contacts",
    "The contact log, newest first, a page at a time",
    SUPERVISORS,
    ContactLogOut,
    query=ContactQuery,
)


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/contacts", contacts_page)
    api.add_endpoint(app, ENDPOINT, contacts_api)
