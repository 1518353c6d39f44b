"""Secrets: only from ``CARELINE_*`` environment variables, read by pydantic-settings.

For the embedded default, ``careline secrets init`` (run by ``make run``) generates each missing
secret once into ``var/secrets.env`` (mode 0600), a dotenv file read for any variable the
environment does not set: the environment always wins.
"""

from __future__ import annotations

import base64
import os
import secrets as token_source
from collections.abc import Callable, Mapping
from pathlib import Path

from dotenv import dotenv_values
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRETS_FILE = Path("var/secrets.env")


class SecretsError(Exception):
    """A secret is missing or malformed; the message is one line."""


def _token() -> str:
    return token_source.token_urlsafe(32)


def _aes_key() -> str:
    return base64.urlsafe_b64encode(token_source.token_bytes(32)).decode()


class Secrets(BaseSettings):
    # An empty variable counts as unset (the file, or nothing, then); other CARELINE_* names
    # (the tests' CARELINE_TEST_*, CARELINE_CONFIG...) are not secrets.
    model_config = SettingsConfigDict(
        env_prefix="CARELINE_", env_ignore_empty=True, extra="ignore", frozen=True
    )

    api_token: str | None = None
    session_secret: str | None = None
    field_key: str | None = None
    hotline_hmac_secret: str | None = None
    wechat_token: str | None = None
    wechat_aes_key: str | None = None
    wechat_app_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_corp_secret: str | None = None
    group_hmac_secret: str | None = None
    database_password: str | None = None
    # Staff notifications (bot/notifiers): the ack-link key is generated; the others come from
    # the providers (WeCom group robot key, SMS gateway, SMTP account, the staff webhook peer).
    ack_secret: str | None = None
    wecom_robot_key: str | None = None
    sms_gateway_secret: str | None = None
    smtp_password: str | None = None
    staff_webhook_secret: str | None = None

    def field_key_bytes(self) -> bytes:
        if not self.field_key:
            raise SecretsError(
                "CARELINE_FIELD_KEY is not set (make run generates one into var/secrets.env)"
            )
        try:
            key = base64.urlsafe_b64decode(self.field_key.encode())
        except ValueError:
            key = b""
        if len(key) != 32:
            raise SecretsError("CARELINE_FIELD_KEY must be 32 bytes in url-safe base64")
        return key

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise SecretsError(f"{env_name(name)} is not set")
        return value

    def masked(self) -> dict[str, str]:
        return {env_name(name): mask(getattr(self, name)) for name in type(self).model_fields}


# What `make run` generates for the embedded default. WeChat's token and key are chosen in the
# WeChat console, and a database password belongs to the database, so they are never generated.
GENERATED: dict[str, Callable[[], str]] = {
    "api_token": _token,
    "session_secret": _token,
    "field_key": _aes_key,
    "hotline_hmac_secret": _token,
    "group_hmac_secret": _token,
    "ack_secret": _token,
}


def env_name(field_name: str) -> str:
    return f"CARELINE_{field_name.upper()}"


def mask(value: str | None) -> str:
    if not value:
        return "(not set)"
    return "********" if len(value) < 12 else f"{value[:2]}…{value[-2:]} (set)"


def read_env_file(path: Path) -> dict[str, str]:
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_secrets(secrets_file: Path | None = None) -> Secrets:
    """The environment's ``CARELINE_*`` secrets, then the secrets file's for the rest."""
    path = Path(os.environ.get("CARELINE_SECRETS_FILE", secrets_file or DEFAULT_SECRETS_FILE))
    return Secrets(_env_file=path if path.exists() else None)  # type: ignore[call-arg]


def generate_missing(path: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """Append each generated secret that neither the environment nor the file has yet."""
    environ = os.environ if environ is None else environ
    existing = read_env_file(path)
    new = {
        env_name(name): make()
        for name, make in GENERATED.items()
        if env_name(name) not in existing and not environ.get(env_name(name))
    }
    if not new:
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        if not existing:
            out.write("# Generated once by `careline secrets init`. Keep private.\n")
        out.writelines(f"{key}={value}\n" for key, value in new.items())
    os.chmod(path, 0o600)
    return sorted(new)
