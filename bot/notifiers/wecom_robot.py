"""WeCom group robot (群机器人): a markdown message to the team's group, @-mentioning the person.

https://developer.work.weixin.qq.com/document/path/91770 — POST JSON to
``.../cgi-bin/webhook/send?key=KEY``; the answer is ``{"errcode": 0, "errmsg": "ok"}``. The key
is a secret (CARELINE_WECOM_ROBOT_KEY): it never appears in a reason or a log line.
"""

from __future__ import annotations

import json
import logging
from zoneinfo import ZoneInfo

import aiohttp

from bot.notifiers.base import DeliveryResult
from bot.notifiers.http import HttpFailure, post
from bot.notifiers.notice import StaffNotice
from bot.notifiers.render import SHANGHAI, render_markdown
from bot.roster.config import SocialWorker

__all__ = ["DEFAULT_ROBOT_URL", "WeComRobotSender"]

log = logging.getLogger(__name__)

DEFAULT_ROBOT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
# -1 system busy; 45009 the robot's rate limit (20 messages a minute). Others (93000 bad key,
# 40008 bad message type, 40058 bad content...) will fail again the same way.
RETRYABLE_ERRCODES = frozenset({-1, 45009})


class WeComRobotSender:
    name = "wecom_robot"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        key: str,
        *,
        url: str = DEFAULT_ROBOT_URL,
        timeout: float = 10.0,
        zone: ZoneInfo = SHANGHAI,
    ) -> None:
        if not key:
            raise ValueError("the robot key must not be empty")
        self._session = session
        self._key = key
        self._url = url
        self._timeout = timeout
        self._zone = zone

    async def send(self, notice: StaffNotice, person: SocialWorker) -> DeliveryResult:
        content = render_markdown(notice, mention=person.wecom_userid, zone=self._zone)
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        try:
            answer = await post(
                self._session,
                self._url,
                json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
                params={"key": self._key},
                timeout_seconds=self._timeout,
            )
        except HttpFailure as exc:
            return DeliveryResult.failed(self.name, exc.reason, retryable=exc.retryable)
        try:
            errcode = json.loads(answer.body).get("errcode")
        except (ValueError, AttributeError):
            return DeliveryResult.retry(self.name, "answer is not JSON")
        if errcode == 0:
            return DeliveryResult.ok(self.name)
        if not isinstance(errcode, int) or isinstance(errcode, bool):
            return DeliveryResult.retry(self.name, "answer has no errcode")
        log.warning("WeCom robot answered errcode %s", errcode)
        retryable = errcode in RETRYABLE_ERRCODES
        return DeliveryResult.failed(self.name, f"errcode {errcode}", retryable=retryable)
