"""Writing to a mother first through WeChat: the channel's ``MotherSender``s.

The Official Account sends customer-service messages, which WeChat accepts only within 48 hours
of her last message to the account (errcode 45015 after that); the WeCom app writes to a member
at any time. WeChat's errors are told in the channel-neutral terms of ``bot.outbound``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.channels.wechat.api import (
    ERRCODE_OUT_OF_SERVICE_WINDOW,
    OfficialAccountClient,
    TokenStore,
    WeChatApiError,
    WeComClient,
)
from bot.config import Config
from bot.message import IdentityKind
from bot.outbound import MotherSender, SendError, SendFailure
from bot.secrets import Secrets

OFFICIAL_CHANNEL = "wechat_mp"
WECOM_CHANNEL = "wecom"

log = logging.getLogger("careline.channels.wechat")

# WeChat's "system busy, try again later".
ERRCODE_SYSTEM_BUSY = -1

# https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
CUSTOMER_SERVICE_WINDOW = timedelta(hours=48)


class _WeChatSender:
    identity_kind: str
    reply_window: timedelta | None

    def __init__(self, client: OfficialAccountClient | WeComClient) -> None:
        self._client = client

    async def send_text(self, recipient: str, text: str) -> None:
        try:
            await self._client.send_text(recipient, text)
        except WeChatApiError as exc:
            raise SendError(_failure(exc), str(exc)[:160]) from None

    async def close(self) -> None:
        await self._client.close()


class OfficialAccountSender(_WeChatSender):
    identity_kind = IdentityKind.WECHAT_OPENID
    reply_window = CUSTOMER_SERVICE_WINDOW


class WeComSender(_WeChatSender):
    identity_kind = IdentityKind.WECOM_USERID
    reply_window = None


def _failure(exc: WeChatApiError) -> SendFailure:
    if exc.errcode == ERRCODE_OUT_OF_SERVICE_WINDOW:
        return SendFailure.OUT_OF_WINDOW
    if exc.errcode is None:
        return SendFailure.MAYBE_SENT if exc.may_have_been_delivered else SendFailure.RETRY
    if exc.errcode == ERRCODE_SYSTEM_BUSY:
        return SendFailure.RETRY
    return SendFailure.REFUSED


def build_senders(
    config: Config, secrets: Secrets, tokens: TokenStore | None = None
) -> dict[str, MotherSender]:
    """The senders of the configured WeChat channels that have their API secret."""
    senders: dict[str, MotherSender] = {}
    if config.wechat is not None and not secrets.wechat_app_secret:
        log.warning(
            "CARELINE_WECHAT_APP_SECRET is not set: late replies and check-ins cannot be sent"
        )
    if config.wecom is not None and not secrets.wecom_corp_secret:
        log.warning(
            "CARELINE_WECOM_CORP_SECRET is not set: late replies and check-ins cannot be sent"
        )
    if config.wechat is not None and secrets.wechat_app_secret:
        senders[OFFICIAL_CHANNEL] = OfficialAccountSender(
            OfficialAccountClient(
                config.wechat.appid,
                secrets.wechat_app_secret,
                base_url=config.wechat.api_base_url,
                tokens=tokens,
            )
        )
    if config.wecom is not None and secrets.wecom_corp_secret:
        senders[WECOM_CHANNEL] = WeComSender(
            WeComClient(
                config.wecom.corpid,
                secrets.wecom_corp_secret,
                config.wecom.agentid,
                base_url=config.wecom.api_base_url,
                tokens=tokens,
            )
        )
    return senders
