"""The page behind the one-tap acknowledgement link (issue 16, item 3).

``GET /ack/{token}`` shows the case at a glance with two buttons, 我来处理 and 转给其他人;
``POST /ack/{token}`` does what was tapped. A thin edge: the token says which case and who
(``ack_tokens``), ``ack_actions`` does the work, ``ack_view`` says what the page shows and
``texts`` holds every word. A link that cannot act (malformed, forged, expired, used) says so
and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.web import ack_actions, csrf, texts
from bot.web.ack_tokens import AckClaims, AckTokenError, verify_ack_token
from bot.web.ack_view import Summary, local_time, summarize
from bot.web.keys import SECRETS, SERVICES
from storage import queries
from storage.models import Escalation, EscalationStatus, Person

__all__ = ["PATH", "setup"]

PATH = "/ack/{token}"
TEMPLATE = "ack.html"
ACKNOWLEDGE, HAND_BACK = "acknowledge", "hand_back"

log = logging.getLogger("careline.ack")

# Pages that are the answer itself: the headers keep the link (a credential) out of caches and
# referrers, and no script runs whatever a text contains.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    status: int


REFUSED_TOKENS: dict[str, Message] = {
    "malformed": Message(texts.MALFORMED_TITLE, texts.MALFORMED_BODY, 400),
    "forged": Message(texts.FORGED_TITLE, texts.FORGED_BODY, 403),
    "wrong_purpose": Message(texts.FORGED_TITLE, texts.FORGED_BODY, 403),
    "expired": Message(texts.EXPIRED_TITLE, texts.EXPIRED_BODY, 410),
}
USED = Message(texts.USED_TITLE, texts.USED_BODY, 410)
NOT_FOUND = Message(texts.NOT_FOUND_TITLE, texts.NOT_FOUND_BODY, 404)
FORM_EXPIRED = Message(
    texts.FORM_EXPIRED_TITLE, f"{texts.FORM_EXPIRED_BODY}{texts.NOTHING_CHANGED}", 403
)
BAD_ACTION = Message(texts.BAD_ACTION_TITLE, f"{texts.BAD_ACTION_BODY}{texts.NOTHING_CHANGED}", 400)
YOU_HANDED_BACK = Message(texts.YOU_HANDED_BACK_TITLE, texts.YOU_HANDED_BACK_BODY, 200)


@dataclass(frozen=True, slots=True)
class Opened:
    """A link that verified, with the case it names as stored now."""

    claims: AckClaims
    escalation: Escalation
    person: Person
    channel: str
    used: bool
    handed_back: bool
    taken_by: str | None  # who acknowledged it (a roster id or a staff username)


class Refused(Exception):
    def __init__(self, message: Message) -> None:
        super().__init__(message.title)
        self.message = message


def setup(app: web.Application) -> None:
    if aiohttp_jinja2.APP_KEY not in app:
        aiohttp_jinja2.setup(
            app, loader=jinja2.PackageLoader("bot.web", "templates"), autoescape=True
        )
    app.router.add_get(PATH, show)
    app.router.add_post(PATH, act)


async def show(request: web.Request) -> web.StreamResponse:
    try:
        opened = await _open(request)
    except Refused as refused:
        return _page(request, refused.message)
    closed = _closed(request, opened)
    if closed is not None:
        return closed
    nonce = csrf.new_nonce()
    response = _page(
        request,
        None,
        summary=_summary(request, opened.escalation, opened),
        greeting=texts.FOR_YOU.format(name=_name(request, opened.claims.recipient_id)),
        form_token=csrf.form_value(_secret(request), nonce, request.match_info["token"]),
    )
    response.set_cookie(
        csrf.COOKIE,
        nonce,
        path=_link_path(request),
        httponly=True,
        samesite="Strict",
        secure=_public_url(request).startswith("https://"),
    )
    return response


async def act(request: web.Request) -> web.StreamResponse:
    try:
        opened = await _open(request)
    except Refused as refused:
        return _page(request, refused.message)
    claims = opened.claims
    if opened.used:
        return await _refuse(request, claims, USED, "used")
    form = await request.post()
    given = form.get(csrf.FIELD)
    if not csrf.valid(
        _secret(request),
        request.cookies.get(csrf.COOKIE),
        request.match_info["token"],
        given if isinstance(given, str) else None,
    ):
        return await _refuse(request, claims, FORM_EXPIRED, "csrf")
    closed = _closed(request, opened, status=409)
    if closed is not None:
        return closed
    action = form.get("action")
    services = request.app[SERVICES]
    now = services.clock.now()
    try:
        if action == ACKNOWLEDGE:
            escalation = await ack_actions.take(services.db, claims, at=now)
            message = Message(texts.ACKNOWLEDGED_TITLE, texts.ACKNOWLEDGED_BODY, 200)
        elif action == HAND_BACK:
            escalation = await ack_actions.hand_back(
                services.db, claims, at=now, config=services.config
            )
            message = Message(texts.HANDED_BACK_TITLE, texts.HANDED_BACK_BODY, 200)
        else:
            return await _refuse(request, claims, BAD_ACTION, "unknown action")
    except ack_actions.LinkUsed:
        return await _refuse(request, claims, USED, "used")
    except ack_actions.HandedBack:
        return _page(request, Message(YOU_HANDED_BACK.title, YOU_HANDED_BACK.body, 409))
    except ack_actions.NotAllowed:
        # Somebody else was quicker: say who, as a fresh look would.
        closed = _closed(request, await _open(request), status=409)
        return closed or _page(request, NOT_FOUND)
    services.outbox.wake()  # the next level, or the others told it is taken, now
    log.info("ack link: escalation #%s %s by %s", claims.escalation_id, action, claims.recipient_id)
    response = _page(request, message, summary=_summary(request, escalation, opened))
    response.del_cookie(csrf.COOKIE, path=_link_path(request))
    return response


async def _open(request: web.Request) -> Opened:
    secret = _secret(request)
    if not secret:
        raise Refused(NOT_FOUND)  # no link was ever made here
    services = request.app[SERVICES]
    try:
        claims = verify_ack_token(secret, request.match_info["token"], now=services.clock.now())
    except AckTokenError as error:
        log.info("ack link refused: %s", error.reason)
        raise Refused(REFUSED_TOKENS[error.reason]) from None
    async with services.db.session() as session:
        escalation = await queries.get_escalation(session, claims.escalation_id)
        if escalation is None:
            raise Refused(NOT_FOUND)
        person = await queries.get_person(session, escalation.person_id)
        opening = await queries.get_message(session, escalation.message_id)
        used = await queries.ack_link_use(session, claims.token_id) is not None
        handed_back = await queries.handed_back(session, escalation.id, claims.recipient_id)  # type: ignore[arg-type]
        acknowledged = await queries.last_event(
            session,
            action="escalation.acknowledged",
            object_type="escalation",
            object_id=escalation.id,  # type: ignore[arg-type]
        )
    assert person is not None
    return Opened(
        claims=claims,
        escalation=escalation,
        person=person,
        channel=opening.channel if opening is not None else "",
        used=used,
        handed_back=handed_back,
        taken_by=acknowledged.actor if acknowledged is not None else None,
    )


def _closed(request: web.Request, opened: Opened, *, status: int = 200) -> web.Response | None:
    """The page for a link that may no longer act, or None when it may."""
    escalation = opened.escalation
    zone = request.app[SERVICES].config.zone
    if opened.used:
        return _page(request, USED)
    if escalation.status == EscalationStatus.ACKNOWLEDGED:
        who = _name(request, opened.taken_by) if opened.taken_by else texts.TAKEN_SOMEONE
        when = local_time(escalation.acknowledged_at or escalation.updated_at, zone)
        body = texts.TAKEN_BODY.format(name=who, when=when)
        message = Message(texts.TAKEN_TITLE, body, status)
    elif escalation.status == EscalationStatus.RESOLVED:
        when = local_time(escalation.resolved_at or escalation.updated_at, zone)
        message = Message(texts.RESOLVED_TITLE, texts.RESOLVED_BODY.format(when=when), status)
    elif opened.handed_back:
        message = Message(YOU_HANDED_BACK.title, YOU_HANDED_BACK.body, status)
    else:
        return None
    return _page(request, message, summary=_summary(request, escalation, opened))


async def _refuse(
    request: web.Request, claims: AckClaims, message: Message, reason: str
) -> web.Response:
    """A verified link whose tap did nothing: the page says why, the audit log keeps it."""
    services = request.app[SERVICES]
    async with services.db.write() as session:
        await queries.audit(
            session,
            actor=claims.recipient_id,
            action="ack_link.refused",
            object_type="escalation",
            object_id=claims.escalation_id,
            at=services.clock.now(),
            detail={"token_id": claims.token_id, "reason": reason},
        )
    log.info("ack link refused for escalation #%s: %s", claims.escalation_id, reason)
    return _page(request, message)


def _page(
    request: web.Request,
    message: Message | None,
    *,
    summary: Summary | None = None,
    greeting: str | None = None,
    form_token: str | None = None,
) -> web.Response:
    title = message.title if message else summary.heading if summary else texts.SITE
    response = aiohttp_jinja2.render_template(
        TEMPLATE,
        request,
        {
            "t": texts,
            "title": title,
            "message": message,
            "summary": summary,
            "greeting": greeting,
            "csrf": form_token,
            "csrf_field": csrf.FIELD,
        },
        status=message.status if message else 200,
    )
    response.headers.update(HEADERS)
    return response


def _summary(request: web.Request, escalation: Escalation, opened: Opened) -> Summary:
    return summarize(escalation, opened.person, opened.channel, request.app[SERVICES].config.zone)


def _name(request: web.Request, worker_id: str) -> str:
    try:
        return request.app[SERVICES].config.roster.worker(worker_id).name
    except KeyError:
        return worker_id


def _secret(request: web.Request) -> str:
    return request.app[SECRETS].ack_secret or ""


def _public_url(request: web.Request) -> str:
    return request.app[SERVICES].config.notifications.public_base_url or ""


def _link_path(request: web.Request) -> str:
    """The cookie's path: this link only (under the public URL's own prefix, if any)."""
    prefix = urlsplit(_public_url(request)).path.rstrip("/")
    return f"{prefix}/ack/{request.match_info['token']}"
