"""Rendering a staff page: the template, what every page needs, and the security headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.web import texts
from bot.web.access import csrf_token, signed_in_staff
from storage.models import Role

__all__ = ["HEADERS", "NavItem", "render", "secure_headers"]

# No inline script or style runs, whatever a mother's text contains; pages are never cached
# (they carry names and crises) and never framed.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
STATIC_PREFIX = "/staff/static/"


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str
    roles: tuple[Role, ...]  # empty: everyone signed in


NAV = (
    NavItem("/staff/queue", texts.NAV_QUEUE, ()),
    NavItem("/staff/contacts", texts.NAV_CONTACTS, (Role.SUPERVISOR, Role.ADMIN)),
    NavItem("/staff/reports", texts.NAV_REPORTS, (Role.SUPERVISOR, Role.ADMIN)),
    NavItem("/staff/audit", texts.NAV_AUDIT, (Role.SUPERVISOR, Role.ADMIN)),
    NavItem("/staff/admin", texts.NAV_ADMIN, (Role.ADMIN,)),
)


async def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    staff = await signed_in_staff(request)
    nav = [
        {"href": item.href, "label": item.label, "current": request.path.startswith(item.href)}
        for item in NAV
        if staff is not None and (not item.roles or staff.role in item.roles)
    ]
    page = {"t": texts, "staff": staff, "csrf": csrf_token(request), "nav": nav, **context}
    response = aiohttp_jinja2.render_template(template, request, page, status=status)
    response.headers.update(HEADERS)
    return response


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The same headers on every answer under /staff/: an error page (a 403, the router's
    404), a fragment, the JSON API and the event stream carry them as a page does. A header a
    handler set on purpose stays as it is; the static files may be cached."""
    if not request.path.startswith("/staff"):
        return
    for name, value in HEADERS.items():
        if name == "Cache-Control" and request.path.startswith(STATIC_PREFIX):
            continue
        response.headers.setdefault(name, value)
