"""Who is signed in to the staff pages, what their role lets them do, and CSRF.

A sign-in opens a server-side session (``storage.models.StaffSession``): the cookie carries a
random token, the database only its hash, so sign-out, a password reset or a disabled account
ends it at once on every replica. Each session has its own synchronizer token that every form
(field ``csrf``) and API write (header ``X-CSRF-Token``) must carry
(https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html).
The cookie is HttpOnly, SameSite=Lax (a worker arriving from a notice link in WeCom stays
signed in) and Secure whenever the service is reached over HTTPS.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from aiohttp import web

from bot.web import texts
from bot.web.keys import SERVICES
from storage import queries
from storage.models import Role, StaffUser

__all__ = [
    "API_PREFIX",
    "COOKIE",
    "SESSION_LIFETIME",
    "StaffMember",
    "current_staff",
    "require",
    "verify_csrf",
]

COOKIE = "careline_staff"
PREFIX = "/staff"
API_PREFIX = "/staff/api/"
SIGN_IN_PATH = "/staff/sign-in"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
# A duty shift and a little more: a worker signs in once per shift.
SESSION_LIFETIME = timedelta(hours=13)

_STAFF = web.RequestKey("careline.staff", object)  # StaffMember | None, once looked up
_CSRF = web.RequestKey("careline.csrf", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A signed-in staff user. ``username`` is their roster worker id (``sw-chen``)."""

    id: int
    username: str
    display_name: str
    role: Role

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    @classmethod
    def of(cls, user: StaffUser) -> StaffMember:
        assert user.id is not None
        return cls(user.id, user.username, user.display_name, Role(user.role))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def secure_cookies(request: web.Request) -> bool:
    public = request.app[SERVICES].config.notifications.public_base_url or ""
    return request.secure or public.startswith("https://")


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path=PREFIX,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(request),
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=PREFIX)


def is_api(request: web.Request) -> bool:
    return request.path.startswith(API_PREFIX)


async def signed_in_staff(request: web.Request) -> StaffMember | None:
    """The staff member this request's cookie belongs to (cached on the request)."""
    if _STAFF in request:
        return request[_STAFF]  # type: ignore[return-value]
    token = request.cookies.get(COOKIE)
    staff = None
    if token and len(token) <= 128:
        services = request.app[SERVICES]
        async with services.db.session() as session:
            found = await queries.signed_in(session, token_hash(token), services.clock.now())
        if found is not None:
            row, user = found
            staff = StaffMember.of(user)
            request[_CSRF] = row.csrf_token
    request[_STAFF] = staff
    return staff


async def still_signed_in(request: web.Request) -> bool:
    """Whether this request's session is still live now (not the answer cached when it began):
    a long request, the queue's event stream, ends with the session."""
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 128:
        return False
    services = request.app[SERVICES]
    async with services.db.session() as session:
        found = await queries.signed_in(session, token_hash(token), services.clock.now())
    return found is not None


def require(*roles: Role) -> Callable[[Handler], Handler]:
    """Let the handler run for a signed-in staff member of one of these roles (any if none)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            staff = await signed_in_staff(request)
            if staff is None:
                raise _not_signed_in(request)
            if roles and staff.role not in roles:
                raise _forbidden(request)
            return await handler(request)

        return guarded

    return decorate


def current_staff(request: web.Request) -> StaffMember:
    staff = request.get(_STAFF)
    if not isinstance(staff, StaffMember):
        raise _not_signed_in(request)
    return staff


def csrf_token(request: web.Request) -> str:
    """This session's token, for hidden form fields and the pages' API calls."""
    return request.get(_CSRF, "")


async def verify_csrf(request: web.Request) -> None:
    """Refuse a write that does not carry this session's CSRF token."""
    expected = csrf_token(request)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        value = (await request.post()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        if is_api(request):
            raise web.HTTPForbidden(text='{"error": "csrf"}', content_type="application/json")
        raise web.HTTPForbidden(text=texts.CSRF_REFUSED)


def _not_signed_in(request: web.Request) -> web.HTTPException:
    if is_api(request):
        return web.HTTPUnauthorized(
            text='{"error": "not signed in"}', content_type="application/json"
        )
    target = request.path_qs if request.method == "GET" else PREFIX + "/"
    return web.HTTPSeeOther(f"{SIGN_IN_PATH}?next={quote(target, safe='/')}")


def _forbidden(request: web.Request) -> web.HTTPException:
    if is_api(request):
        return web.HTTPForbidden(text='{"error": "forbidden"}', content_type="application/json")
    return web.HTTPForbidden(text=texts.FORBIDDEN)
