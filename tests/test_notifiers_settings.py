from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import yaml

from bot.config import ConfigError, parse_config
from bot.notifiers.factory import build_senders, senders_for
from bot.secrets import Secrets, SecretsError
from tests.roster_fixture import ROSTER_YAML

NOTIFICATIONS = {
    "public_base_url": "https://careline.example.org",
    "routes": {"default": ["wecom_app", "email"], "P1": ["wecom_app", "sms", "email"]},
    "people": {"zhou": {"default": ["email"]}, "li": {"P1": ["sms", "wecom_robot"]}},
    "wecom_robot": {},
    "wecom_app": {"corpid": "ww0000", "agentid": 1000002},
    "sms": {"url": "https://sms.example.org/send", "key_id": "k1"},
    "email": {"host": "smtp.example.org", "username": "careline", "from_address": "c@example.org"},
    "webhook": {"url": "https://hooks.example.org/careline"},
}
SECRETS = Secrets(
    wecom_robot_key="rk",
    wecom_corp_secret="cs",
    sms_gateway_secret="ss",
    smtp_password="pw",
    staff_webhook_secret="ws",
)


def config(notifications: dict[str, object] = NOTIFICATIONS):  # type: ignore[no-untyped-def]
    return parse_config({"roster": yaml.safe_load(ROSTER_YAML), "notifications": notifications})


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def test_routes_go_from_the_person_and_priority_to_the_team_default() -> None:
    settings = config().notifications
    assert settings.route("li", "P1") == ["sms", "wecom_robot"]  # her own P1 route
    assert settings.route("li", "P2") == ["wecom_app", "email"]  # team default
    assert settings.route("wang", "P1") == ["wecom_app", "sms", "email"]  # team P1
    assert settings.route("zhou", "P1") == ["email"]  # her own default beats the team's P1


def test_a_route_for_someone_not_on_the_roster_is_refused() -> None:
    with pytest.raises(ConfigError, match="notifications.people: no roster worker ghost"):
        config({"people": {"ghost": {"default": ["sms"]}}})


def test_an_unknown_sender_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="notifications.routes.default.0"):
        config({"routes": {"default": ["pager"]}})


def test_an_sms_template_may_not_carry_anything_but_priority_and_link() -> None:
    with pytest.raises(ConfigError, match="only {priority} and {link}"):
        config({"sms": {"url": "https://sms.example.org", "templates": {"new": "{pseudonym}"}}})


async def test_every_configured_sender_is_built_and_routed_in_order(
    session: aiohttp.ClientSession,
) -> None:
    cfg = config()
    senders = build_senders(cfg, SECRETS, session)
    assert set(senders) == {"wecom_robot", "wecom_app", "sms", "email", "webhook"}
    assert [s.name for s in senders_for(cfg, senders, "li", "P1")] == ["sms", "wecom_robot"]


async def test_a_route_skips_senders_that_are_not_configured(
    session: aiohttp.ClientSession,
) -> None:
    cfg = config({"email": NOTIFICATIONS["email"]})
    senders = build_senders(cfg, SECRETS, session)
    assert [s.name for s in senders_for(cfg, senders, "wang", "P1")] == ["email"]


async def test_a_configured_sender_without_its_secret_stops_start_up(
    session: aiohttp.ClientSession,
) -> None:
    with pytest.raises(SecretsError, match="CARELINE_SMS_GATEWAY_SECRET is not set"):
        build_senders(config({"sms": NOTIFICATIONS["sms"]}), Secrets(), session)
