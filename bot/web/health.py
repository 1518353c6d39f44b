"""Liveness and readiness probes."""

from __future__ import annotations

from aiohttp import web

from bot.web.keys import SERVICES


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    checks = {
        "database": await services.db.ping(),
        "model": bool(getattr(services.nlu, "model_version", "")),
        "scheduler": services.healthy_scheduler,
    }
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
