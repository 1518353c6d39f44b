"""config.yml, validated at start-up.

Secrets never live here: see ``bot.secrets``. A bad file raises ``ConfigError`` whose message
is one line naming the key and the problem; the CLI prints it without a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.notifiers.settings import NotificationsConfig
from bot.roster.config import RosterConfig
from handlers.settings import PolicySettings

DEFAULT_CONFIG_PATH = Path("config.yml")


class ConfigError(Exception):
    """config.yml is missing, unreadable or invalid; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(65536, ge=1024, le=16 * 1024 * 1024)
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class DashboardSettings(_Strict):
    """The staff dashboard's live queue (bot/web/queue_events)."""

    # How often each process asks the database whether the queue changed: a change made by
    # any replica reaches an open page within about this long.
    live_poll_seconds: float = Field(1.0, ge=0.05, le=30)
    # A comment line on a quiet stream, so proxies and phones keep it open.
    heartbeat_seconds: float = Field(15.0, ge=1, le=300)


class DatabaseSettings(_Strict):
    url: str = "sqlite+aiosqlite:///var/careline.db"

    @field_validator("url")
    @classmethod
    def _supported_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class NLUConfig(_Strict):
    backend: Literal["embedded", "rasa"] = "embedded"
    model_dir: Path = Path("var/models")
    threshold: float = Field(0.45, ge=0.0, le=1.0)
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = Field(2.0, gt=0, le=30)
    history_messages: int = Field(5, ge=0, le=50)
    history_minutes: int = Field(120, ge=0, le=7 * 24 * 60)


# Seconds to wait before each new try of a late reply that failed on the way (network, WeChat
# busy): a reply the service owes a mother is worth a few minutes of trying.


class WeChatOfficialConfig(_Strict):
    """The Official Account (公众号) callback at /wechat/mp; present = enabled.

    Secrets: CARELINE_WECHAT_TOKEN, CARELINE_WECHAT_AES_KEY (safe mode) and
    CARELINE_WECHAT_APP_SECRET (customer-service messages for late replies).
    """

    appid: str = Field(min_length=1, max_length=64)
    # safe: every POST must be encrypted (encrypt_type=aes); plain: unencrypted only.
    mode: Literal["safe", "plain"] = "safe"
    # WeChat gives up after 5 s: a reply not ready by then goes out as a customer-service message.
    reply_deadline_seconds: float = Field(4.0, ge=0, le=4.5)
    api_base_url: str = "https://api.weixin.qq.com"


class WeComConfig(_Strict):
    """The WeCom (企业微信) app callback at /wechat/work; present = enabled.

    Secrets: CARELINE_WECOM_TOKEN, CARELINE_WECOM_AES_KEY, CARELINE_WECOM_CORP_SECRET.
    """

    corpid: str = Field(min_length=1, max_length=64)
    agentid: int = Field(ge=0)
    reply_deadline_seconds: float = Field(4.0, ge=0, le=4.5)
    api_base_url: str = "https://qyapi.weixin.qq.com"


class CareGroupConfig(_Strict):
    """The care group webhook at /channels/care-group; present = enabled.

    Signed with CARELINE_GROUP_HMAC_SECRET (see README, "Care group webhook").
    """

    bot_member_id: str = Field("careline", min_length=1, max_length=128)
    bot_names: list[str] = ["小助手", "Careline"]
    help_keywords: list[str] = ["求助", "找社工", "帮帮我", "救救我"]
    staff_member_ids: list[str] = []
    # Groups accepted; empty accepts every group the bridge forwards.
    group_ids: list[str] = []


class HotlineConfig(_Strict):
    """The hotline transcript webhook at /hotline/transcripts; present = enabled.

    Signed with CARELINE_HOTLINE_HMAC_SECRET (see README, "Hotline transcripts").
    """

    # Sentences the IVR says (welcome, menu, recording notice): removed from every segment,
    # whatever its speaker label, so Careline never acts on the machine's own words.
    ivr_prompts: list[str] = Field(default_factory=list, max_length=200)

    @field_validator("ivr_prompts")
    @classmethod
    def _prompts_say_something(cls, value: list[str]) -> list[str]:
        if any(not prompt.strip() for prompt in value):
            raise ValueError("an IVR prompt must not be empty")
        return value


class RasaComponent(BaseModel):
    """One Rasa pipeline entry; only Rasa reads its options."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str


class Config(_Strict):
    # Rasa's own keys: config.yml doubles as a Rasa 3.6 NLU config.
    recipe: str = "default.v1"
    language: str = "zh"
    pipeline: list[RasaComponent] = []
    assistant_id: str | None = None

    service: ServiceSettings = ServiceSettings()
    database: DatabaseSettings = DatabaseSettings()
    nlu: NLUConfig = NLUConfig()
    policy: PolicySettings = PolicySettings()
    # WeChat channels (bot/channels): each is off unless its section is present.
    wechat: WeChatOfficialConfig | None = None
    wecom: WeComConfig | None = None
    care_group: CareGroupConfig | None = None
    hotline: HotlineConfig | None = None
    # Who is on duty (bot/roster): social workers, shifts, overrides, leave, supervisors.
    roster: RosterConfig = RosterConfig()
    # How staff are told (bot/notifiers): senders per person and priority, their settings.
    notifications: NotificationsConfig = NotificationsConfig()
    # The staff dashboard's live updates.
    dashboard: DashboardSettings = DashboardSettings()

    @model_validator(mode="after")
    def _notified_people_are_on_the_roster(self) -> Config:
        known = {w.id for w in self.roster.workers}
        unknown = sorted(set(self.notifications.people) - known)
        if unknown:
            raise ValueError(f"notifications.people: no roster worker {', '.join(unknown)}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.service.timezone)


def load_config(path: Path = DEFAULT_CONFIG_PATH) -> Config:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping of keys to values")
    return parse_config(raw, source=str(path))


def parse_config(raw: dict[str, Any], *, source: str = "config.yml") -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_first_error(exc, source)) from None


def describe_first_error(exc: ValidationError, source: str) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        problem = "unknown key"
    else:
        problem = error["msg"].removeprefix("Value error, ")
        if "input" in error and not isinstance(error["input"], dict | list):
            problem += f" (got {error['input']!r})"
    more = exc.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {key}: {problem}{suffix}"
