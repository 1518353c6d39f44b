"""WeCom app message (应用消息) to the person's WeCom UserID, through the channel's own client.

Reuses :class:`bot.channels.wechat.api.WeComClient` (token cache, one refresh on a rejected
token). A timeout may mean the message went out: it is still reported retryable, since a worker
told twice about a crisis is better than a worker not told.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.channels.wechat.api import WeChatApiError, WeComClient
from bot.notifiers.base import DeliveryResult
from bot.notifiers.notice import StaffNotice
from bot.notifiers.render import SHANGHAI, render_markdown
from bot.roster.config import SocialWorker

__all__ = ["WeComAppSender"]

# -1 busy, 45009/45033/45047 rate or concurrency limits. Token errors have already been
# retried once by the client: still failing means a wrong secret, which retrying won't fix.
RETRYABLE_ERRCODES = frozenset({-1, 45009, 45033, 45047})


class WeComAppSender:
    name = "wecom_app"

    def __init__(self, client: WeComClient, *, zone: ZoneInfo = SHANGHAI) -> None:
        self._client = client
        self._zone = zone

    async def send(self, notice: StaffNotice, person: SocialWorker) -> DeliveryResult:
        if not person.wecom_userid:
            return DeliveryResult.give_up(self.name, "no WeCom user id")
        content = render_markdown(notice, zone=self._zone)
        try:
            await self._client.send_markdown(person.wecom_userid, content)
        except WeChatApiError as exc:
            if exc.errcode is None:
                reason = exc.errmsg + (" (may have been delivered)" * exc.may_have_been_delivered)
                retryable = not exc.errmsg.startswith("HTTP 4")
                return DeliveryResult.failed(self.name, reason, retryable=retryable)
            retryable = exc.errcode in RETRYABLE_ERRCODES
            return DeliveryResult.failed(self.name, f"errcode {exc.errcode}", retryable=retryable)
        return DeliveryResult.ok(self.name)
