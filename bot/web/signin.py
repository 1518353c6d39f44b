"""Signing in and out of the staff pages.

Passwords are argon2id hashes (argon2-cffi); a hash made with older parameters is renewed at
the next sign-in. An unknown username costs the same hash as a wrong password, so the answer
says nothing about which accounts exist. Failed sign-ins are counted in the audit log, per
username and per address, so the limit holds across replicas and restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.message import without_invisible
from bot.web import access, csrf, texts
from bot.web.keys import SECRETS, SERVICES
from bot.web.pages import render
from storage import queries
from storage.models import StaffUser

__all__ = ["setup"]

log = logging.getLogger("careline.web.signin")

PATH = access.SIGN_IN_PATH
HOME = "/staff/queue"
SIGN_IN_FORM = "staff-sign-in"  # what the pre-session CSRF value is bound to
CSRF_COOKIE = "careline_sign_in_csrf"
FAILURE_WINDOW = timedelta(minutes=15)
# Guessing one account from one place stops soon; a stranger guessing from elsewhere cannot lock
# a worker out at the start of her shift with five tries (roster ids are easy to guess), yet
# guessing one account from many places still stops.
MAX_FAILURES_PER_USER_HERE = 5
MAX_FAILURES_PER_USER = 30
MAX_FAILURES_PER_ADDRESS = 20
MAX_FIELD = 128

_hasher = PasswordHasher()
# Verified against when the username is unknown: the same work as a real check.
_DUMMY_HASH = _hasher.hash("careline: no such user")


def safe_next(target: str | None) -> str:
    """Only a path of this site's staff pages: never another host (an open redirect)."""
    if not target or not target.startswith("/staff/") or target.startswith("//"):
        return HOME
    if "\\" in target or any(ord(c) < 0x20 for c in target):
        return HOME
    return target


def _address(request: web.Request) -> str:
    return request.remote or "unknown"


async def show(request: web.Request) -> web.StreamResponse:
    if await access.signed_in_staff(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return await _form(request, error=None, status=200)


async def _form(request: web.Request, *, error: str | None, status: int) -> web.Response:
    nonce = csrf.new_nonce()
    response = await render(
        request,
        "staff/sign_in.html",
        {
            "title": texts.SIGN_IN_TITLE,
            "error": error,
            "next": safe_next(request.query.get("next")),
            "form_csrf": csrf.form_value(_secret(request), nonce, SIGN_IN_FORM),
        },
        status=status,
    )
    response.set_cookie(
        CSRF_COOKIE,
        nonce,
        path=PATH,
        httponly=True,
        samesite="Strict",
        secure=access.secure_cookies(request),
    )
    return response


async def sign_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    # What no username holds (PostgreSQL compares no NUL) is not part of the one typed.
    username = without_invisible(str(form.get("username", ""))[:MAX_FIELD]).strip()
    password = str(form.get("password", ""))[:MAX_FIELD]
    given = form.get(access.CSRF_FIELD)
    if not csrf.valid(
        _secret(request),
        request.cookies.get(CSRF_COOKIE),
        SIGN_IN_FORM,
        given if isinstance(given, str) else None,
    ):
        return await _form(request, error=texts.SIGN_IN_EXPIRED, status=403)
    services = request.app[SERVICES]
    now = services.clock.now()
    address = _address(request)
    async with services.db.session() as session:
        user = await queries.staff_by_username(session, username) if username else None
        recorded = _as_recorded(request, username, user)
        failed = await queries.failed_sign_ins_since(
            session, username=recorded, address=address, since=now - FAILURE_WINDOW
        )
    if (
        failed.for_user_here >= MAX_FAILURES_PER_USER_HERE
        or failed.for_user >= MAX_FAILURES_PER_USER
        or failed.from_address >= MAX_FAILURES_PER_ADDRESS
    ):
        log.warning("sign-in refused: too many failures")
        return await _form(request, error=texts.SIGN_IN_LOCKED, status=429)
    if not _verified(user.password_hash if user else _DUMMY_HASH, password) or (
        user is None or not user.active
    ):
        async with services.db.write() as session:
            await queries.audit(
                session,
                actor=recorded,
                action="staff.sign_in_failed",
                object_type="staffuser",
                object_id=user.id if user else None,
                at=now,
                detail={"username": recorded, "address": address},
            )
        return await _form(request, error=texts.SIGN_IN_WRONG, status=401)
    token = access.new_token()
    async with services.db.write() as session:
        if _hasher.check_needs_rehash(user.password_hash):
            stored = await session.get(type(user), user.id)
            if stored is not None:
                stored.password_hash = _hasher.hash(password)
        await queries.open_staff_session(
            session,
            staff_id=user.id,  # type: ignore[arg-type]
            token_hash=access.token_hash(token),
            csrf_token=access.new_token(),
            now=now,
            expires_at=now + access.SESSION_LIFETIME,
        )
        await queries.prune_staff_sessions(session, now)
        await queries.audit(
            session,
            actor=user.username,
            action="staff.sign_in",
            object_type="staffuser",
            object_id=user.id,
            at=now,
            detail={"address": address},
        )
    response = web.HTTPSeeOther(safe_next(str(form.get("next", "")) or None))
    access.set_session_cookie(request, response, token)
    response.del_cookie(CSRF_COOKIE, path=PATH)
    raise response


@access.require()
async def sign_out(request: web.Request) -> web.StreamResponse:
    await access.verify_csrf(request)
    staff = access.current_staff(request)
    services = request.app[SERVICES]
    async with services.db.write() as session:
        await queries.end_staff_session(
            session, access.token_hash(request.cookies.get(access.COOKIE, ""))
        )
        await queries.audit(
            session,
            actor=staff.username,
            action="staff.sign_out",
            object_type="staffuser",
            object_id=staff.id,
            at=services.clock.now(),
        )
    response = web.HTTPSeeOther(PATH)
    access.clear_session_cookie(response)
    raise response


def _verified(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _as_recorded(request: web.Request, username: str, user: StaffUser | None) -> str:
    """What the audit log keeps of a typed username: an account's own name; for a name no
    account has (often a password typed into the wrong field) a keyed digest instead, which
    supervisors cannot read back but which still counts repeated tries of the same text."""
    if user is not None:
        return user.username
    if not username:
        return texts.SIGN_IN_EMPTY_USERNAME
    digest = hmac.new(
        _secret(request).encode(), b"unknown-username\0" + username.encode(), hashlib.sha256
    ).hexdigest()
    return texts.SIGN_IN_UNKNOWN_USERNAME.format(digest=digest[:12])


def _secret(request: web.Request) -> str:
    secret = request.app[SECRETS].session_secret
    if not secret:
        raise web.HTTPServiceUnavailable(text=texts.SIGN_IN_UNAVAILABLE)
    return secret


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, show)
    app.router.add_post(PATH, sign_in)
    app.router.add_post("/staff/sign-out", sign_out)
