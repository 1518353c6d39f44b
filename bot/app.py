"""The aiohttp application: the web edges around the running services."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.channels import routes as channels
from bot.late_replies import StoredLateReplies
from bot.secrets import Secrets
from bot.services import Services
from bot.web import ack, health
from bot.web.keys import SECRETS, SERVICES
from bot.web.staff import setup_staff

log = logging.getLogger("careline.app")


@web.middleware
async def unavailable_on_storage_errors(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    """A dependency that is down gets a clear 503 and the sender retries; nothing half-stored."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except OSError as exc:
        log.error("dependency unavailable: %s", type(exc).__name__)
        return web.json_response({"error": "service temporarily unavailable"}, status=503)
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            log.error("database error: %s", type(exc).__name__)
            return web.json_response({"error": "service temporarily unavailable"}, status=503)
        raise


def create_app(services: Services, secrets: Secrets) -> web.Application:
    app = web.Application(
        client_max_size=services.config.service.max_body_bytes,
        middlewares=[unavailable_on_storage_errors],
    )
    app[SERVICES] = services
    app[SECRETS] = secrets
    health.setup(app)
    late_replies = StoredLateReplies(
        db=services.db,
        cipher=services.pipeline.cipher,
        clock=services.clock,
        on_ready=services.outbox.wake,
    )
    # The API; WeChat, WeCom, care group if configured.
    channels.setup(
        app,
        services.pipeline,
        late_replies,
        services.accepted_requests,
        services.config,
        secrets,
    )
    ack.setup(app)  # the page behind a staff notice's one-tap link
    setup_staff(app)  # sign-in and the staff pages under /staff/
    return app
