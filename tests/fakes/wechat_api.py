"""A local fake of the WeChat / WeCom server APIs on 127.0.0.1 (random port).

Serves both hosts' endpoints under one base URL:
- ``GET /cgi-bin/token`` (Official Account) and ``GET /cgi-bin/gettoken`` (WeCom)
- ``POST /cgi-bin/message/custom/send`` (OA customer-service) and ``POST /cgi-bin/message/send``
  (WeCom app message)

Tokens live ``token_lifetime`` seconds on the fake's clock (share a fake clock with the client
under test). Knobs let a test expire tokens, make the next calls fail, pause the token endpoint
or hang sends; counters and ``sent`` record what the client did. JSON answers go out as
``text/plain`` like the real API sometimes does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

FAKE_APPID = "wxfakeappid000001"
FAKE_SECRET = "fake-app-secret"
FAKE_CORPID = "wwfakecorpid00001"
FAKE_CORPSECRET = "fake-corp-secret"


@dataclass(frozen=True)
class SentMessage:
    api: str  # "custom" (OA customer-service) or "wecom" (WeCom app message)
    touser: str
    content: str
    agentid: int | None
    raw_body: bytes
    msgtype: str = "text"


@dataclass
class _Failure:
    errcode: int
    errmsg: str
    http_status: int = 200
    body: bytes | None = None


@dataclass
class FakeWeChatApi:
    token_lifetime: int = 7200
    clock: Callable[[], float] = time.time
    appid: str = FAKE_APPID
    secret: str = FAKE_SECRET
    corpid: str = FAKE_CORPID
    corpsecret: str = FAKE_CORPSECRET

    token_requests: int = field(default=0, init=False)
    send_requests: int = field(default=0, init=False)
    sent: list[SentMessage] = field(default_factory=list, init=False)
    # Every token the API refuses forever (to test that the client retries only once).
    reject_all_tokens: bool = field(default=False, init=False)

    _tokens: dict[str, tuple[float, int | None]] = field(default_factory=dict, init=False)
    _serial: itertools.count[int] = field(default_factory=itertools.count, init=False)
    _send_failures: list[_Failure] = field(default_factory=list, init=False)
    _answers_to_cut: int = field(default=0, init=False)
    _token_failures: list[_Failure] = field(default_factory=list, init=False)
    _runner: web.AppRunner | None = field(default=None, init=False)
    _base_url: str = field(default="", init=False)
    _token_gate: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _send_gate: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    token_request_arrived: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    send_request_arrived: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self._token_gate.set()
        self._send_gate.set()

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if not self._base_url:
            raise RuntimeError("FakeWeChatApi is not started")
        return self._base_url

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._official_token)
        app.router.add_get("/cgi-bin/gettoken", self._wecom_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/send", self._wecom_send)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"
        return self._base_url

    async def close(self) -> None:
        self._token_gate.set()
        self._send_gate.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- knobs ------------------------------------------------------------------------------

    def expire_tokens(self, errcode: int = 42001) -> None:
        """Every token issued so far now answers ``errcode`` (42001 expired, 40001, 40014)."""
        for token, (issued_at, _) in list(self._tokens.items()):
            self._tokens[token] = (issued_at, errcode)

    def fail_next_send(self, errcode: int, errmsg: str = "fake failure", count: int = 1) -> None:
        self._send_failures.extend(_Failure(errcode, errmsg) for _ in range(count))

    def fail_next_send_http(self, status: int = 200, body: bytes | None = None) -> None:
        """Next send answers this HTTP status (and raw body, e.g. non-JSON garbage)."""
        self._send_failures.append(_Failure(0, "", status, body))

    def cut_next_answer(self) -> None:
        """The next send is delivered, but the connection drops before WeChat answers."""
        self._answers_to_cut += 1

    def fail_next_token(self, errcode: int, errmsg: str = "fake failure") -> None:
        self._token_failures.append(_Failure(errcode, errmsg))

    def pause_tokens(self) -> None:
        """Token requests wait (after counting and setting ``token_request_arrived``)."""
        self._token_gate.clear()

    def release_tokens(self) -> None:
        self._token_gate.set()

    def hang_sends(self) -> None:
        """Sends never answer until :meth:`release_sends` or close (for timeout tests)."""
        self._send_gate.clear()

    def release_sends(self) -> None:
        self._send_gate.set()

    @property
    def issued_tokens(self) -> list[str]:
        return list(self._tokens)

    # -- handlers ---------------------------------------------------------------------------

    async def _official_token(self, request: web.Request) -> web.Response:
        self._count_token_request()
        query = request.query
        if query.get("grant_type") != "client_credential":
            return _json({"errcode": 40002, "errmsg": "invalid grant_type"})
        if query.get("appid") != self.appid:
            return _json({"errcode": 40013, "errmsg": "invalid appid"})
        if query.get("secret") != self.secret:
            return _json({"errcode": 40125, "errmsg": "invalid appsecret"})
        return await self._issue_token(wecom=False)

    async def _wecom_token(self, request: web.Request) -> web.Response:
        self._count_token_request()
        if request.query.get("corpid") != self.corpid:
            return _json({"errcode": 40013, "errmsg": "invalid corpid"})
        if request.query.get("corpsecret") != self.corpsecret:
            return _json({"errcode": 40001, "errmsg": "invalid secret"})
        return await self._issue_token(wecom=True)

    def _count_token_request(self) -> None:
        self.token_requests += 1
        self.token_request_arrived.set()

    async def _issue_token(self, *, wecom: bool) -> web.Response:
        await self._token_gate.wait()
        if self._token_failures:
            failure = self._token_failures.pop(0)
            return _json({"errcode": failure.errcode, "errmsg": failure.errmsg})
        token = f"fake-token-{next(self._serial)}"
        self._tokens[token] = (self.clock(), None)
        answer: dict[str, Any] = {"access_token": token, "expires_in": self.token_lifetime}
        if wecom:
            answer = {"errcode": 0, "errmsg": "ok", **answer}
        return _json(answer)

    async def _custom_send(self, request: web.Request) -> web.Response:
        return await self._send(request, api="custom")

    async def _wecom_send(self, request: web.Request) -> web.Response:
        return await self._send(request, api="wecom")

    async def _send(self, request: web.Request, *, api: str) -> web.Response:
        self.send_requests += 1
        self.send_request_arrived.set()
        await self._send_gate.wait()
        token_error = self._token_error(request.query.get("access_token", ""))
        if token_error:
            return _json({"errcode": token_error, "errmsg": "access_token invalid or expired"})
        if self._send_failures:
            failure = self._send_failures.pop(0)
            if failure.http_status != 200 or failure.body is not None:
                return web.Response(status=failure.http_status, body=failure.body or b"")
            return _json({"errcode": failure.errcode, "errmsg": failure.errmsg})
        raw = await request.read()
        try:
            payload = json.loads(raw.decode("utf-8"))
            msgtype = payload["msgtype"]
            # WeCom app messages may also be markdown; customer-service messages are text here.
            ok = msgtype == "text" or (api == "wecom" and msgtype == "markdown")
            content = payload[msgtype]["content"]
            touser = payload["touser"]
            ok = ok and isinstance(content, str) and touser
        except (ValueError, KeyError, TypeError):
            ok = False
        agentid = payload.get("agentid") if ok else None
        if not ok or (api == "wecom" and not isinstance(agentid, int)):
            return _json({"errcode": 44002, "errmsg": "empty post data or bad payload"})
        self.sent.append(SentMessage(api, touser, content, agentid, raw, msgtype))
        if self._answers_to_cut:
            self._answers_to_cut -= 1
            assert request.transport is not None
            request.transport.abort()
        return _json({"errcode": 0, "errmsg": "ok"})

    def _token_error(self, token: str) -> int | None:
        if self.reject_all_tokens or token not in self._tokens:
            return 40001
        issued_at, forced_error = self._tokens[token]
        if forced_error is not None:
            return forced_error
        if self.clock() >= issued_at + self.token_lifetime:
            return 42001
        return None


def _json(data: dict[str, Any]) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), content_type="text/plain")
