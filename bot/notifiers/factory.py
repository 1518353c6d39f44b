"""Build the configured senders from config.yml and the CARELINE_* secrets.

A sender whose section is present but whose secret is missing is a start-up error (one line),
not a silent skip: a P1 must not find out at 3 a.m. that SMS was never set up.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import aiohttp

from bot.channels.wechat.api import WECOM_BASE_URL, TokenStore, WeComClient
from bot.notifiers.base import Sender
from bot.notifiers.settings import SenderName
from bot.notifiers.sms import SmsGatewaySender
from bot.notifiers.smtp import SmtpSender
from bot.notifiers.webhook import WebhookSender
from bot.notifiers.wecom_app import WeComAppSender
from bot.notifiers.wecom_robot import WeComRobotSender
from bot.secrets import Secrets, SecretsError

if TYPE_CHECKING:
    from bot.config import Config

__all__ = ["build_senders", "senders_for"]


def build_senders(
    config: Config,
    secrets: Secrets,
    session: aiohttp.ClientSession,
    tokens: TokenStore | None = None,
) -> dict[SenderName, Sender]:
    """``tokens`` shares the WeCom app's access_token with the other processes (and with the
    WeCom channel, when it is the same app)."""
    settings = config.notifications
    timeout, zone = settings.timeout_seconds, config.zone
    senders: dict[SenderName, Sender] = {}
    if settings.wecom_robot is not None:
        senders["wecom_robot"] = WeComRobotSender(
            session,
            secrets.require("wecom_robot_key"),
            url=settings.wecom_robot.url,
            timeout=timeout,
            zone=zone,
        )
    if settings.wecom_app is not None:
        app, channel = settings.wecom_app, config.wecom
        corpid = app.corpid or (channel.corpid if channel else None)
        agentid = app.agentid if app.agentid is not None else (channel.agentid if channel else None)
        if corpid is None or agentid is None:
            raise SecretsError("notifications.wecom_app needs corpid and agentid (or a wecom:)")
        base_url = app.api_base_url or (channel.api_base_url if channel else WECOM_BASE_URL)
        client = WeComClient(
            corpid,
            secrets.require("wecom_corp_secret"),
            agentid,
            base_url=base_url,
            session=session,
            tokens=tokens,
            timeout=timeout,
        )
        senders["wecom_app"] = WeComAppSender(client, zone=zone)
    if settings.sms is not None:
        senders["sms"] = SmsGatewaySender(
            session,
            settings.sms.url,
            secrets.require("sms_gateway_secret"),
            key_id=settings.sms.key_id,
            templates={kind.value: text for kind, text in settings.sms.templates.items()},
            timeout=timeout,
        )
    if settings.email is not None:
        mail = settings.email
        context = ssl.create_default_context(cafile=mail.ca_file) if mail.ca_file else None
        senders["email"] = SmtpSender(
            host=mail.host,
            port=mail.port,
            from_address=mail.from_address,
            username=mail.username,
            password=secrets.require("smtp_password") if mail.username else None,
            security=mail.security,
            tls_context=context,
            timeout=timeout,
            zone=zone,
        )
    if settings.webhook is not None:
        senders["webhook"] = WebhookSender(
            session,
            settings.webhook.url,
            secrets.require("staff_webhook_secret"),
            include_messages=settings.webhook.include_messages,
            timeout=timeout,
        )
    return senders


def senders_for(
    config: Config, senders: Mapping[SenderName, Sender], person_id: str, priority: str
) -> Sequence[Sender]:
    """This person's senders for this priority, in order, skipping those not configured."""
    route = config.notifications.route(person_id, priority)
    return [senders[name] for name in route if name in senders]
