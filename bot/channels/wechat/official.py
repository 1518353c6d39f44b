"""The Official Account (公众号) callback at ``/wechat/mp``, built from config and secrets.

Plain or safe mode (``wechat.mode``); passive replies within ``wechat.reply_deadline_seconds``,
later ones through the customer-service API (needs ``CARELINE_WECHAT_APP_SECRET``).
"""

from __future__ import annotations

import logging

from bot.channels.stats import ChannelStats
from bot.channels.wechat.callback import CallbackVerifier
from bot.channels.wechat.crypto import WeChatCrypto
from bot.channels.wechat.endpoint import CallbackEndpoint
from bot.channels.wechat.late import LateReplies, LateReplyBook
from bot.channels.wechat.outbound import OFFICIAL_CHANNEL
from bot.channels.wechat.replay import AcceptedRequests, ReplayGuard
from bot.config import Config
from bot.gateway import Gateway
from bot.message import IdentityKind
from bot.secrets import Secrets

log = logging.getLogger("careline.channels.wechat")

CHANNEL = OFFICIAL_CHANNEL
PATH = "/wechat/mp"
NO_REPLY = "success"  # WeChat's documented "received, nothing to say"


def build(
    gateway: Gateway,
    book: LateReplyBook,
    accepted: AcceptedRequests,
    careline: Config,
    secrets: Secrets,
    stats: ChannelStats,
) -> CallbackEndpoint:
    config = careline.wechat
    assert config is not None, "only built when configured"
    token = secrets.require("wechat_token")
    crypto = (
        WeChatCrypto(token, secrets.require("wechat_aes_key"), config.appid)
        if config.mode == "safe"
        else None
    )
    endpoint = CallbackEndpoint(
        channel=CHANNEL,
        sender_kind=IdentityKind.WECHAT_OPENID,
        verifier=CallbackVerifier(token=token, guard=ReplayGuard(CHANNEL, accepted), crypto=crypto),
        gateway=gateway,
        hotline=careline.policy.programme_hotline,
        stats=stats,
        late=LateReplies(channel=CHANNEL, book=book),
        deadline_seconds=config.reply_deadline_seconds,
        no_reply_body=NO_REPLY,
    )
    return endpoint
