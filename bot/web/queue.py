"""The escalation queue: ``GET /staff/queue`` (the page, or ``?fragment=1`` the queue alone
for live updates), its actions (take, resolve, each with an optional note), and the JSON twins
under ``/staff/api/v1/escalations`` (declared through ``bot.web.api``). One data path:
``load_queue`` and ``queue_actions`` serve the page and the API alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from bot.services import Services
from bot.web import api, queue_actions, queue_events, texts
from bot.web.access import StaffMember, current_staff, require, still_signed_in, verify_csrf
from bot.web.keys import SERVICES
from bot.web.pages import render
from bot.web.queue_actions import Refused
from bot.web.queue_view import QueueItem, holder, queue_item, roster_names
from storage import queries
from storage.models import Escalation
from storage.queries import QueueRow

PAGE = "/staff/queue"
FRAGMENT = f"{PAGE}?fragment=1"
QUEUE_WATCH = web.AppKey("queue_watch", queue_events.QueueWatch)
# A move on an escalation (``queue_actions.take`` or ``resolve``): the same for page and API.
Move = Callable[[Services, StaffMember, int, str], Awaitable[Escalation]]
DONE = {"acknowledged": texts.DONE_ACKNOWLEDGED, "resolved": texts.DONE_RESOLVED}


def setup(app: web.Application) -> None:
    services = app[SERVICES]
    app[QUEUE_WATCH] = queue_events.QueueWatch(
        services.db, interval=services.config.dashboard.live_poll_seconds
    )
    app.on_shutdown.append(_stop_watching)
    app.router.add_get(PAGE, show)
    app.router.add_get(queue_events.PATH, events)
    app.router.add_post(PAGE + "/{id:" + api.ROW_ID + "}/acknowledge", acknowledge)
    app.router.add_post(PAGE + "/{id:" + api.ROW_ID + "}/resolve", resolve)
    for endpoint, handler in ENDPOINTS:
        api.add_endpoint(app, endpoint, handler)


async def _stop_watching(app: web.Application) -> None:
    await app[QUEUE_WATCH].close()  # every open stream ends, so the server can stop


async def load_queue(request: web.Request, staff: StaffMember) -> list[QueueItem]:
    """The queue as this staff member may see it, P1 first, then the longest waiting."""
    services = request.app[SERVICES]
    visible_to = None if staff.is_supervisor else holder(staff)
    async with services.db.session() as session:
        rows = await queries.queue_rows(session, visible_to=visible_to)
    return _items(request, staff, rows)


def _items(request: web.Request, staff: StaffMember, rows: list[QueueRow]) -> list[QueueItem]:
    services = request.app[SERVICES]
    names = roster_names(services.config)
    now, zone = services.clock.now(), services.config.zone
    return [queue_item(row, staff, now=now, zone=zone, names=names) for row in rows]


@require()
async def show(request: web.Request) -> web.StreamResponse:
    staff = current_staff(request)
    message = _done_message(request)
    return await _page(request, staff, message=message)


async def _page(
    request: web.Request,
    staff: StaffMember,
    *,
    message: str | None = None,
    refused: bool = False,
    status: int = 200,
) -> web.StreamResponse:
    # Read before the queue: a change in between makes the page fetch again, never miss it.
    version = await request.app[QUEUE_WATCH].current()
    items = await load_queue(request, staff)
    if request.query.get("fragment") == "1":
        response = await render(request, "staff/queue_items.html", {"items": items})
    else:
        response = await render(
            request,
            "staff/queue.html",
            {
                "items": items,
                "version": version,
                "message": message,
                "refused": refused,
                "fragment_url": FRAGMENT,
                "events_url": queue_events.PATH,
            },
            status=status,
        )
    response.headers["X-Queue-Version"] = version
    response.headers["Cache-Control"] = "no-store"
    return response


def _done_message(request: web.Request) -> str | None:
    """After a move the page is fetched again (post/redirect/get); the query names the move
    and the escalation, never free text."""
    template = DONE.get(request.query.get("done", ""))
    escalation_id = request.query.get("id", "")
    if template is None or not escalation_id.isdigit():
        return None
    return template.format(id=int(escalation_id))


@require()
async def events(request: web.Request) -> web.StreamResponse:
    heartbeat = request.app[SERVICES].config.dashboard.heartbeat_seconds
    return await queue_events.stream(
        request, request.app[QUEUE_WATCH], heartbeat, lambda: still_signed_in(request)
    )


@require()
async def acknowledge(request: web.Request) -> web.StreamResponse:
    return await _act(request, queue_actions.take, "acknowledged")


@require()
async def resolve(request: web.Request) -> web.StreamResponse:
    return await _act(request, queue_actions.resolve, "resolved")


async def _act(request: web.Request, move: Move, done: str) -> web.StreamResponse:
    await verify_csrf(request)
    staff = current_staff(request)
    escalation_id = int(request.match_info["id"])
    form = await request.post()
    try:
        await move(
            request.app[SERVICES], staff, escalation_id, queue_actions.clean_note(form.get("note"))
        )
    except Refused as refused:
        return await _page(
            request, staff, message=refused.message, refused=True, status=refused.status
        )
    raise web.HTTPSeeOther(f"{PAGE}?done={done}&id={escalation_id}#escalation-{escalation_id}")


# --- the JSON twins ---------------------------------------------------------------------------


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = None  # at most queue_actions.NOTE_MAX_CHARS characters


class EscalationOut(BaseModel):
    """One escalation as the queue shows it (``QueueItem.as_json``)."""

    id: int
    person_id: int
    pseudonym: str
    priority: str
    status: str
    level: str
    reason: str
    risk_level: str
    risk_reasons: list[str]
    channel: str
    created_at: datetime
    sla_deadline: datetime
    overdue: bool
    taken_by: str | None
    mine: bool
    can_acknowledge: bool
    can_resolve: bool


class QueueOut(BaseModel):
    escalations: list[EscalationOut]


class MovedOut(BaseModel):
    escalation: EscalationOut


async def api_list(request: web.Request) -> web.StreamResponse:
    items = await load_queue(request, current_staff(request))
    return api.ok(QueueOut(escalations=[EscalationOut(**item.as_json()) for item in items]))


async def api_acknowledge(request: web.Request) -> web.StreamResponse:
    return await _api_act(request, queue_actions.take)


async def api_resolve(request: web.Request) -> web.StreamResponse:
    return await _api_act(request, queue_actions.resolve)


async def _api_act(request: web.Request, move: Move) -> web.StreamResponse:
    staff = current_staff(request)
    escalation_id = int(request.match_info["id"])
    body = await api.json_body(request, NoteBody) if request.can_read_body else NoteBody()
    try:
        escalation = await move(
            request.app[SERVICES], staff, escalation_id, queue_actions.clean_note(body.note)
        )
    except Refused as refused:
        return api.ok(api.ErrorBody(error=refused.message), status=refused.status)
    async with request.app[SERVICES].db.session() as session:
        row = await queries.queue_row(session, escalation)
    item = _items(request, staff, [row])[0]
    return api.ok(MovedOut(escalation=EscalationOut(**item.as_json())))


ENDPOINTS = (
    (
        api.Endpoint("GET", "/escalations", "The escalation queue as you may see it", (), QueueOut),
        api_list,
    ),
    (
        api.Endpoint(
            "POST",
            "/escalations/{id:" + api.ROW_ID + "}/acknowledge",
            "Take an escalation (its climb stops, the others are told)",
            (),
            MovedOut,
            body=NoteBody,
        ),
        api_acknowledge,
    ),
    (
        api.Endpoint(
            "POST",
            "/escalations/{id:" + api.ROW_ID + "}/resolve",
            "Close an escalation you hold (supervisors: any)",
            (),
            MovedOut,
            body=NoteBody,
        ),
        api_resolve,
    ),
)
