"""Outbound WeChat APIs: Official Account customer-service messages and WeCom app messages.

Protocol pages:
- OA access_token: https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
- OA 客服消息 (allowed within 48 h of the user's last message):
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
- WeCom gettoken: https://developer.work.weixin.qq.com/document/path/91039
- WeCom 发送应用消息: https://developer.work.weixin.qq.com/document/path/90236
- Global return codes: https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html

The access_token is kept for its ``expires_in`` and refreshed ``refresh_margin`` seconds early,
one refresh at a time per client (concurrent callers wait for the same refresh). WeChat limits
how many tokens may be fetched a day, and a new Official Account token ends the previous one
after a few minutes, so every process shares one stored token per app (:class:`TokenStore`,
kept encrypted in the database by ``bot.api_tokens``): a client uses its own copy, then the
stored one while it lasts, and only then fetches a new one and stores it. When the API says the
token is invalid or expired (40001 / 40014 / 42001, e.g. fetched anew elsewhere), the client
takes a newer stored one or else fetches and stores a new one, and retries the call once; that
is safe because the rejected call was not delivered. The store is a help, not a need: when the
database cannot be reached the client carries on with its own copy.

Timeouts are *not* retried: the message may have gone out, and a mother must not get it twice
(``WeChatApiError.may_have_been_delivered`` tells callers which failures those are). Message
content, recipients, secrets and tokens are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

import aiohttp

from bot.channels.json_body import BadJson, read_json

__all__ = [
    "ERRCODE_OUT_OF_SERVICE_WINDOW",
    "OFFICIAL_ACCOUNT_BASE_URL",
    "TOKEN_ERRCODES",
    "WECOM_BASE_URL",
    "OfficialAccountClient",
    "StoredToken",
    "TokenStore",
    "WeChatApiError",
    "WeComClient",
]

logger = logging.getLogger(__name__)

OFFICIAL_ACCOUNT_BASE_URL = "https://api.weixin.qq.com"
WECOM_BASE_URL = "https://qyapi.weixin.qq.com"

# 40001 invalid credential, 40014 invalid access_token, 42001 access_token expired.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# 45015: the user has not written within 48 h, so customer-service messages are refused.
ERRCODE_OUT_OF_SERVICE_WINDOW = 45015

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_REFRESH_MARGIN_SECONDS = 300.0


class WeChatApiError(Exception):
    """A WeChat API call failed.

    ``errcode`` is WeChat's code, or ``None`` for transport problems (HTTP status, timeout,
    connection error, unreadable answer). ``may_have_been_delivered`` is true when the request
    may have been carried out although no answer said so (a timeout, a connection lost after
    sending, an unreadable answer), so sending it again could deliver it twice. The message
    never carries URLs (they hold the secret or the access_token) nor message content.
    """

    def __init__(
        self, errmsg: str, errcode: int | None = None, *, may_have_been_delivered: bool = False
    ) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}" if errcode else errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.may_have_been_delivered = may_have_been_delivered


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A token as every process sees it (times in Unix seconds)."""

    value: str
    fetched_at: float
    expires_at: float


class TokenStore(Protocol):
    """The tokens shared by every process, one per API app (``key``)."""

    async def load(self, key: str) -> StoredToken | None: ...

    async def save(self, key: str, token: StoredToken) -> None:
        """Keep ``token`` unless one fetched later is stored already."""
        ...


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    fetched_at: float
    expires_at: float
    refresh_at: float

    def serves(self, now: float, *, stale: str | None) -> bool:
        """Good for a scheduled refresh (``stale`` None) or instead of the rejected ``stale``."""
        if stale is None:
            return now < self.refresh_at
        return self.value != stale and now < self.expires_at


class _WeChatApiClient:
    """Shared token cache and JSON transport; subclasses say how to get a token and send."""

    _token_path: str

    def __init__(
        self,
        *,
        base_url: str,
        session: aiohttp.ClientSession | None = None,
        tokens: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._session = session
        self._owns_session = session is None
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._refresh_margin = refresh_margin
        self._token: _Token | None = None
        self._lock = asyncio.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- access_token -----------------------------------------------------------------------

    async def access_token(self) -> str:
        """A valid access_token, fetched or refreshed if needed."""
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.value
        return await self._refresh(stale=None)

    async def _refresh(self, *, stale: str | None) -> str:
        """Take a usable token from this client, then from the store, else fetch and store one.

        ``stale`` is the token the API just rejected (forced refresh); ``None`` means a
        scheduled refresh.
        """
        async with self._lock:
            now = self._clock()
            current = self._token
            if current is not None and current.serves(now, stale=stale):
                return current.value
            stored = await self._load_stored()
            if stored is not None and stored.serves(now, stale=stale):
                self._token = stored
                logger.debug("access_token taken from the store")
                return stored.value
            try:
                data = await self._request("GET", self._token_path, params=self._token_params())
                fetched = self._parse_token(data, now)
            except WeChatApiError as exc:
                # An early refresh that fails can fall back on a still-valid token.
                if stale is None:
                    for token in (current, stored):
                        if token is not None and now < token.expires_at:
                            logger.warning(
                                "access_token refresh failed (%s); keeping current token", exc
                            )
                            self._token = token
                            return token.value
                raise
            self._token = fetched
            logger.debug("access_token refreshed")
            await self._store(fetched)
            return fetched.value

    @property
    def _token_key(self) -> str:
        """The API app this client's token belongs to, in the shared store."""
        raise NotImplementedError

    async def _load_stored(self) -> _Token | None:
        if self._tokens is None:
            return None
        try:
            stored = await self._tokens.load(self._token_key)
        except Exception as exc:  # the database away: this client carries on by itself
            logger.warning("stored access_token unreadable (%s)", type(exc).__name__)
            return None
        if stored is None:
            return None
        return self._timed(stored.value, stored.fetched_at, stored.expires_at)

    async def _store(self, token: _Token) -> None:
        if self._tokens is None:
            return
        try:
            await self._tokens.save(
                self._token_key, StoredToken(token.value, token.fetched_at, token.expires_at)
            )
        except Exception as exc:
            logger.warning("access_token not stored (%s)", type(exc).__name__)

    def _token_params(self) -> dict[str, str]:
        raise NotImplementedError

    def _parse_token(self, data: Mapping[str, Any], fetched_at: float) -> _Token:
        _raise_for_errcode(data)
        value, lifetime = data.get("access_token"), data.get("expires_in")
        if not isinstance(value, str) or not value:
            raise WeChatApiError("token answer has no access_token")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
            raise WeChatApiError("token answer has no valid expires_in")
        return self._timed(value, fetched_at, fetched_at + lifetime)

    def _timed(self, value: str, fetched_at: float, expires_at: float) -> _Token:
        # Short-lived tokens (tests, odd answers) refresh half-way instead of constantly.
        margin = min(self._refresh_margin, (expires_at - fetched_at) / 2)
        return _Token(value, fetched_at, expires_at, expires_at - margin)

    # -- transport --------------------------------------------------------------------------

    async def _post_with_token(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        token = await self.access_token()
        data = await self._request("POST", path, params={"access_token": token}, body=payload)
        if _errcode(data) in TOKEN_ERRCODES:
            logger.info("access_token rejected (errcode %s); refreshing once", _errcode(data))
            token = await self._refresh(stale=token)
            data = await self._request("POST", path, params={"access_token": token}, body=payload)
        _raise_for_errcode(data)
        return data

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        # WeChat expects raw UTF-8 JSON (not \\u escapes) and sometimes answers JSON with a
        # text/plain content type, so encode and decode by hand.
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"} if data else None
        session = self._get_session()
        try:
            async with session.request(
                method,
                self._base_url + path,
                params=params,
                data=data,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                if response.status != 200:
                    raise WeChatApiError(f"HTTP {response.status}")
                raw = await response.read()
        except TimeoutError:
            raise WeChatApiError("timeout", may_have_been_delivered=True) from None
        except aiohttp.ClientConnectorError as exc:  # no connection: nothing was sent
            raise WeChatApiError(f"connection failed ({type(exc).__name__})") from None
        except aiohttp.ClientError as exc:
            # Lost after connecting: the request may have been carried out. str(exc) may
            # contain the URL with the secret or token: keep only the type.
            raise WeChatApiError(
                f"connection failed ({type(exc).__name__})", may_have_been_delivered=True
            ) from None
        try:
            answer = read_json(raw.decode("utf-8"))
        except (UnicodeDecodeError, BadJson):
            raise WeChatApiError("answer is not JSON", may_have_been_delivered=True) from None
        if not isinstance(answer, dict):
            raise WeChatApiError("answer is not a JSON object", may_have_been_delivered=True)
        return answer

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session


def _errcode(data: Mapping[str, Any]) -> int:
    code = data.get("errcode", 0)
    if isinstance(code, bool) or not isinstance(code, int):
        raise WeChatApiError("answer has a non-integer errcode")
    return code


def _raise_for_errcode(data: Mapping[str, Any]) -> None:
    code = _errcode(data)
    if code != 0:
        errmsg = data.get("errmsg")
        error = WeChatApiError(errmsg if isinstance(errmsg, str) else "", code)
        logger.warning("WeChat API answered errcode %s: %s", code, error.errmsg)
        raise error


class OfficialAccountClient(_WeChatApiClient):
    """Official Account (公众号) API: customer-service messages to an OpenID."""

    _token_path = "/cgi-bin/token"

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        base_url: str = OFFICIAL_ACCOUNT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        tokens: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN_SECONDS,
    ) -> None:
        super().__init__(
            base_url=base_url,
            session=session,
            tokens=tokens,
            clock=clock,
            timeout=timeout,
            refresh_margin=refresh_margin,
        )
        self._appid = appid
        self._secret = secret

    @property
    def _token_key(self) -> str:
        return f"wechat_mp:{self._appid}"

    def _token_params(self) -> dict[str, str]:
        return {"grant_type": "client_credential", "appid": self._appid, "secret": self._secret}

    async def send_text(self, openid: str, content: str) -> None:
        """Send a customer-service text message (fails with errcode 45015 after 48 h)."""
        await self._post_with_token(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": content}},
        )
        logger.debug("customer-service text sent")


class WeComClient(_WeChatApiClient):
    """WeCom (企业微信) self-built app API: app messages to a member's UserID."""

    _token_path = "/cgi-bin/gettoken"

    def __init__(
        self,
        corpid: str,
        corpsecret: str,
        agentid: int,
        *,
        base_url: str = WECOM_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        tokens: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN_SECONDS,
    ) -> None:
        super().__init__(
            base_url=base_url,
            session=session,
            tokens=tokens,
            clock=clock,
            timeout=timeout,
            refresh_margin=refresh_margin,
        )
        self._corpid = corpid
        self._corpsecret = corpsecret
        self._agentid = agentid

    @property
    def _token_key(self) -> str:
        return f"wecom:{self._corpid}:{self._agentid}"

    def _token_params(self) -> dict[str, str]:
        return {"corpid": self._corpid, "corpsecret": self._corpsecret}

    async def send_text(self, userid: str, content: str) -> None:
        """Send an app text message to one member."""
        await self._post_with_token(
            "/cgi-bin/message/send",
            {
                "touser": userid,
                "msgtype": "text",
                "agentid": self._agentid,
                "text": {"content": content},
            },
        )
        logger.debug("WeCom app text sent")

    async def send_markdown(self, userid: str, content: str) -> None:
        """Send an app markdown message to one member (WeCom's own client renders it)."""
        await self._post_with_token(
            "/cgi-bin/message/send",
            {
                "touser": userid,
                "msgtype": "markdown",
                "agentid": self._agentid,
                "markdown": {"content": content},
            },
        )
        logger.debug("WeCom app markdown sent")
