"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

from aiohttp import web

from bot.secrets import Secrets
from bot.services import Services

SERVICES = web.AppKey("services", Services)
SECRETS = web.AppKey("secrets", Secrets)
