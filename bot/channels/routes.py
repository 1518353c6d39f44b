"""Registers the channels on the aiohttp app, and ``GET /channels/stats``.

The HTTP API is always on; a channel whose config section is absent gets no route at all. A
WeChat endpoint is kept under an app key for tests.
"""

from __future__ import annotations

from aiohttp import web

from bot.channels import api, care_group
from bot.channels.hotline import endpoint as hotline
from bot.channels.stats import ChannelStats
from bot.channels.wechat import official, wecom
from bot.channels.wechat.endpoint import CallbackEndpoint
from bot.channels.wechat.late import LateReplyBook
from bot.channels.wechat.replay import AcceptedRequests
from bot.config import Config
from bot.gateway import Gateway
from bot.secrets import Secrets

STATS = web.AppKey("channel_stats", ChannelStats)
WECHAT_MP = web.AppKey("wechat_mp_endpoint", CallbackEndpoint)
WECOM = web.AppKey("wecom_endpoint", CallbackEndpoint)
CARE_GROUP = web.AppKey("care_group_endpoint", care_group.CareGroupEndpoint)
HOTLINE = web.AppKey("hotline_endpoint", hotline.HotlineEndpoint)


def setup(
    app: web.Application,
    gateway: Gateway,
    book: LateReplyBook,
    accepted: AcceptedRequests,
    config: Config,
    secrets: Secrets,
) -> None:
    """Each channel gets the gateway and the stored pieces it needs (WeChat's: late-reply
    claims, the requests its replay guard let in), nothing else."""
    stats = ChannelStats()
    app[STATS] = stats
    app.router.add_get("/channels/stats", _stats)
    api.build(gateway, secrets).route(app)
    if config.wechat is not None:
        app[WECHAT_MP] = official.build(gateway, book, accepted, config, secrets, stats)
        app[WECHAT_MP].route(app, official.PATH)
    if config.wecom is not None:
        app[WECOM] = wecom.build(gateway, book, accepted, config, secrets, stats)
        app[WECOM].route(app, wecom.PATH)
    if config.care_group is not None:
        app[CARE_GROUP] = care_group.build(gateway, accepted, config.care_group, secrets, stats)
        app[CARE_GROUP].route(app)
    if config.hotline is not None:
        app[HOTLINE] = hotline.build(gateway, config.hotline, secrets, stats)
        app[HOTLINE].route(app)


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS].to_dict())
