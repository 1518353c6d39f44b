"""A mother's case: ``GET /staff/cases/{person_id}`` (and its JSON twin under
``/staff/api/v1/cases/``), a note added to it, a callback scheduled. Every view is audited
(``case_view.load_case``)."""

from __future__ import annotations

from aiohttp import web

from bot.web import api, case_actions, texts
from bot.web.access import current_staff, require, verify_csrf
from bot.web.case_actions import Refused
from bot.web.case_view import CaseView, load_case
from bot.web.keys import SERVICES
from bot.web.pages import render

PAGE = "/staff/cases/{person_id:" + api.ROW_ID + "}"
DONE = {"note": texts.NOTE_ADDED, "callback": texts.CALLBACK_SCHEDULED}


def setup(app: web.Application) -> None:
    app.router.add_get(PAGE, show)
    app.router.add_post(PAGE + "/notes", add_note)
    app.router.add_post(PAGE + "/callbacks", schedule_callback)
    api.add_endpoint(app, ENDPOINT, api_show)


def _person_id(request: web.Request) -> int:
    return int(request.match_info["person_id"])


def _page_of(person_id: int) -> str:
    return f"/staff/cases/{person_id}"


@require()
async def show(request: web.Request) -> web.StreamResponse:
    message = DONE.get(request.query.get("done", ""))
    return await _page(request, message=message)


async def _page(
    request: web.Request, *, message: str | None = None, refused: bool = False, status: int = 200
) -> web.StreamResponse:
    case = await load_case(request.app[SERVICES], current_staff(request), _person_id(request))
    if case is None:
        raise web.HTTPNotFound(text=texts.CASE_NOT_FOUND)
    response = await render(
        request,
        "staff/case.html",
        {"case": case, "message": message, "refused": refused},
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"  # names and numbers stay out of caches
    return response


@require()
async def add_note(request: web.Request) -> web.StreamResponse:
    await verify_csrf(request)
    form = await request.post()
    person_id = _person_id(request)
    try:
        await case_actions.add_note(
            request.app[SERVICES], current_staff(request), person_id, form.get("note")
        )
    except Refused as refused:
        return await _refused(request, refused)
    raise web.HTTPSeeOther(f"{_page_of(person_id)}?done=note#notes")


@require()
async def schedule_callback(request: web.Request) -> web.StreamResponse:
    await verify_csrf(request)
    form = await request.post()
    person_id = _person_id(request)
    try:
        await case_actions.schedule_callback(
            request.app[SERVICES], current_staff(request), person_id, form.get("due")
        )
    except Refused as refused:
        return await _refused(request, refused)
    raise web.HTTPSeeOther(f"{_page_of(person_id)}?done=callback#follow-ups")


async def _refused(request: web.Request, refused: Refused) -> web.StreamResponse:
    if refused.status == 404:
        raise web.HTTPNotFound(text=texts.CASE_NOT_FOUND)
    return await _page(request, message=refused.message, refused=True, status=refused.status)


async def api_show(request: web.Request) -> web.StreamResponse:
    case = await load_case(request.app[SERVICES], current_staff(request), _person_id(request))
    if case is None:
        return api.ok(api.ErrorBody(error=texts.CASE_NOT_FOUND), status=404)
    return api.ok(case)


ENDPOINT = api.Endpoint(
    "GET",
    "/cases/{person_id:" + api.ROW_ID + "}",
    "A mother's case: messages, contacts, escalations, follow-ups, notes (the view is audited)",
    (),
    CaseView,
)
