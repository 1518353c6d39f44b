"""The WeCom (企业微信) self-built app callback at ``/wechat/work``, built from config and secrets.

Always encrypted, with the CorpID as receive id; the GET URL check decrypts ``echostr``.
Replies that miss the deadline go out as app messages (needs ``CARELINE_WECOM_CORP_SECRET``).
"""

from __future__ import annotations

import logging

from bot.channels.stats import ChannelStats
from bot.channels.wechat.api import TokenStore, WeComClient
from bot.channels.wechat.callback import CallbackVerifier
from bot.channels.wechat.crypto import WeChatCrypto
from bot.channels.wechat.endpoint import CallbackEndpoint
from bot.channels.wechat.late import LateReplies
from bot.channels.wechat.replay import AcceptedRequests, ReplayGuard
from bot.config import Config
from bot.gateway import Gateway
from bot.late_replies import StoredLateReplies
from bot.message import IdentityKind
from bot.secrets import Secrets

log = logging.getLogger("careline.channels.wechat")

CHANNEL = "wecom"
PATH = "/wechat/work"
NO_REPLY = ""  # WeCom: an empty 200 answer means "received, no reply"


def build(
    gateway: Gateway,
    book: StoredLateReplies,
    accepted: AcceptedRequests,
    tokens: TokenStore,
    careline: Config,
    secrets: Secrets,
    stats: ChannelStats,
) -> CallbackEndpoint:
    config = careline.wecom
    assert config is not None, "only built when configured"
    token = secrets.require("wecom_token")
    crypto = WeChatCrypto(token, secrets.require("wecom_aes_key"), config.corpid)
    client = None
    if secrets.wecom_corp_secret:
        client = WeComClient(
            config.corpid,
            secrets.wecom_corp_secret,
            config.agentid,
            base_url=config.api_base_url,
            tokens=tokens,
        )
    else:
        log.warning(
            "CARELINE_WECOM_CORP_SECRET is not set: replies that miss WeCom's deadline "
            "cannot be sent"
        )
    return CallbackEndpoint(
        channel=CHANNEL,
        sender_kind=IdentityKind.WECOM_USERID,
        verifier=CallbackVerifier(token=token, guard=ReplayGuard(CHANNEL, accepted), crypto=crypto),
        gateway=gateway,
        hotline=careline.policy.programme_hotline,
        stats=stats,
        late=LateReplies(
            channel=CHANNEL,
            send=client.send_text if client else None,
            stats=stats,
            gateway=gateway,
            book=book,
            retry_delays=config.late_reply_retry_seconds,
        ),
        deadline_seconds=config.reply_deadline_seconds,
        no_reply_body=NO_REPLY,
        api_client=client,
    )
