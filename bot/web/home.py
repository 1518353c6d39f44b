"""``/staff/``: where a signed-in worker lands (the queue, once it is built, is the home)."""

from __future__ import annotations

from aiohttp import web

from bot.web import access, texts
from bot.web.pages import render


@access.require()
async def home(request: web.Request) -> web.StreamResponse:
    return await render(request, "staff/home.html", {"title": texts.HOME_TITLE})


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/", home)
    app.router.add_get("/staff", _to_home)


async def _to_home(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect("/staff/")
