"""The WeCom (企业微信) self-built app callback at ``/wechat/work``, built from config and secrets.

Always encrypted, with the CorpID as receive id; the GET URL check decrypts ``echostr``.
Replies that miss the deadline go out as app messages (needs ``CARELINE_WECOM_CORP_SECRET``).
"""

from __future__ import annotations

import logging

from bot.channels.stats import ChannelStats
from bot.channels.wechat.callback import CallbackVerifier
from bot.channels.wechat.crypto import WeChatCrypto
from bot.channels.wechat.endpoint import CallbackEndpoint
from bot.channels.wechat.late import LateReplies, LateReplyBook
from bot.channels.wechat.outbound import WECOM_CHANNEL
from bot.channels.wechat.replay import AcceptedRequests, ReplayGuard
from bot.config import Config
from bot.gateway import Gateway
from bot.message import IdentityKind
from bot.secrets import Secrets

log = logging.getLogger("careline.channels.wechat")

CHANNEL = WECOM_CHANNEL
PATH = "/wechat/work"
NO_REPLY = ""  # WeCom: an empty 200 answer means "received, no reply"


def build(
    gateway: Gateway,
    book: LateReplyBook,
    accepted: AcceptedRequests,
    careline: Config,
    secrets: Secrets,
    stats: ChannelStats,
) -> CallbackEndpoint:
    config = careline.wecom
    assert config is not None, "only built when configured"
    token = secrets.require("wecom_token")
    crypto = WeChatCrypto(token, secrets.require("wecom_aes_key"), config.corpid)
    return CallbackEndpoint(
        channel=CHANNEL,
        sender_kind=IdentityKind.WECOM_USERID,
        verifier=CallbackVerifier(token=token, guard=ReplayGuard(CHANNEL, accepted), crypto=crypto),
        gateway=gateway,
        hotline=careline.policy.programme_hotline,
        stats=stats,
        late=LateReplies(channel=CHANNEL, book=book),
        deadline_seconds=config.reply_deadline_seconds,
        no_reply_body=NO_REPLY,
    )
