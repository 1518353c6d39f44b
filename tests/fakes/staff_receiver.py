"""A local HTTP receiver on 127.0.0.1 standing in for the WeCom robot, an SMS gateway or a
staff webhook: it records every request and answers what the test queued (else 200 ``ok``)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

OK = (200, b'{"errcode":0,"errmsg":"ok"}')


@dataclass(frozen=True)
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class StaffReceiver:
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, bytes]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    def answer_next(self, status: int, body: bytes | dict[str, Any] = b"") -> None:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        self.answers.append((status, raw))

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(
            Received(request.path, dict(request.query), dict(request.headers), await request.read())
        )
        status, body = self.answers.pop(0) if self.answers else OK
        return web.Response(status=status, body=body, content_type="application/json")

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a receiver that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"
