"""``/staff/audit``: the audit log for supervisors and admins, newest first, filtered by who,
what and when; the same view model answers ``GET /staff/api/v1/audit``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.services import Services
from bot.web import access, api, texts
from bot.web.keys import SERVICES
from bot.web.pages import render
from storage import queries
from storage.models import Role

PAGE_SIZE = 50
READERS = (Role.SUPERVISOR, Role.ADMIN)


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    actor: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=64)
    date_from: date | None = Field(default=None, alias="from", ge=api.DAY_MIN, le=api.DAY_MAX)
    date_to: date | None = Field(default=None, alias="to", ge=api.DAY_MIN, le=api.DAY_MAX)
    before: int | None = Field(default=None, ge=1, le=api.ROW_ID_MAX)


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: int | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_before: int | None = Field(description="pass as `before` for the next (older) page")


async def audit_page(services: Services, query: AuditQuery) -> AuditPage:
    zone = services.config.zone
    async with services.db.session() as session:
        events = await queries.audit_log(
            session,
            actor=query.actor or None,
            action=query.action or None,
            since=_start_of(query.date_from, zone),
            until=_start_of(query.date_to + timedelta(days=1), zone) if query.date_to else None,
            before_id=query.before,
            limit=PAGE_SIZE + 1,
        )
    entries = [AuditEntry.model_validate(e, from_attributes=True) for e in events[:PAGE_SIZE]]
    more = len(events) > PAGE_SIZE
    return AuditPage(entries=entries, next_before=entries[-1].id if more else None)


def _start_of(day: date | None, zone: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=zone)


@access.require(*READERS)
async def page(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    query = api.query_model(request, AuditQuery)
    result = await audit_page(services, query)
    filters = {k: v for k, v in request.query.items() if k != "before" and v}
    return await render(
        request,
        "staff/audit.html",
        {
            "title": texts.AUDIT_TITLE,
            "result": result,
            "query": query,
            "filters": filters,
            "zone": services.config.zone,
        },
    )


async def as_json(request: web.Request) -> web.StreamResponse:
    query = api.query_model(request, AuditQuery)
    return api.ok(await audit_page(request.app[SERVICES], query))


ENDPOINT = api.Endpoint(
    "GET", "/audit", "The audit log, newest first", READERS, AuditPage, query=AuditQuery
)


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/audit", page)
    api.add_endpoint(app, ENDPOINT, as_json)
