"""The ``notifications:`` section of config.yml: which senders, in which order, for whom.

Routes are looked up most specific first: the person's list for the priority, the person's
``default``, the team's list for the priority, the team's ``default``. A sender named in a
route but not configured (its section or secret missing) is skipped. Secrets come from
CARELINE_WECOM_ROBOT_KEY, CARELINE_WECOM_CORP_SECRET, CARELINE_SMS_GATEWAY_SECRET,
CARELINE_SMTP_PASSWORD and CARELINE_STAFF_WEBHOOK_SECRET, never from this file.
"""

from __future__ import annotations

from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.notifiers.notice import NoticeKind
from bot.notifiers.wecom_robot import DEFAULT_ROBOT_URL

__all__ = [
    "EmailSettings",
    "NotificationsConfig",
    "Route",
    "SenderName",
    "SmsSettings",
    "WeComAppSettings",
    "WeComRobotSettings",
    "WebhookSettings",
]

SenderName = Literal["wecom_app", "wecom_robot", "sms", "email", "webhook"]
RouteKey = Literal["default", "P1", "P2", "P3"]
Route = dict[RouteKey, list[SenderName]]

DEFAULT_ROUTES: Route = {
    "default": ["wecom_app", "email", "webhook"],
    "P1": ["wecom_app", "sms", "wecom_robot", "email", "webhook"],
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeComRobotSettings(_Strict):
    url: str = DEFAULT_ROBOT_URL  # the key comes from CARELINE_WECOM_ROBOT_KEY


class WeComAppSettings(_Strict):
    """Staff app messages; corpid/agentid default to the ``wecom:`` channel's own app."""

    corpid: str | None = None
    agentid: int | None = Field(None, ge=0)
    api_base_url: str | None = None


class SmsSettings(_Strict):
    url: str = Field(min_length=8)
    key_id: str | None = None
    # Per notice kind; only {priority} and {link} may appear (never her words).
    templates: dict[NoticeKind, str] = {}

    @field_validator("templates")
    @classmethod
    def _only_priority_and_link(cls, value: dict[NoticeKind, str]) -> dict[NoticeKind, str]:
        for kind, template in value.items():
            try:
                fields = {name for _, name, _, _ in Formatter().parse(template) if name}
            except ValueError:
                raise ValueError(f"{kind.value}: not a valid template") from None
            extra = fields - {"priority", "link"}
            if extra:
                raise ValueError(f"{kind.value}: only {{priority}} and {{link}}, not {extra}")
        return value


class EmailSettings(_Strict):
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls"] = "starttls"
    username: str | None = None  # the password comes from CARELINE_SMTP_PASSWORD
    from_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    ca_file: str | None = None  # a private CA to trust, else the system's


class WebhookSettings(_Strict):
    url: str = Field(min_length=8)
    include_messages: bool = False


class NotificationsConfig(_Strict):
    # Where the acknowledgement links point (the service as staff phones reach it).
    public_base_url: str | None = None
    ack_link_minutes: int = Field(24 * 60, ge=5, le=7 * 24 * 60)
    timeout_seconds: float = Field(10.0, gt=0, le=60)
    routes: Route = Field(default_factory=lambda: dict(DEFAULT_ROUTES))
    people: dict[str, Route] = {}  # by roster worker id
    wecom_robot: WeComRobotSettings | None = None
    wecom_app: WeComAppSettings | None = None
    sms: SmsSettings | None = None
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None

    @field_validator("routes")
    @classmethod
    def _has_default(cls, value: Route) -> Route:
        if "default" not in value:
            raise ValueError("needs a default route")
        return value

    def route(self, person_id: str, priority: str) -> list[SenderName]:
        """The sender names to try for this person at this priority, in order."""
        mine = self.people.get(person_id, {})
        for table, key in ((mine, priority), (mine, "default"), (self.routes, priority)):
            if key in table:
                return list(table[key])  # type: ignore[index]
        return list(self.routes["default"])

    def enabled(self) -> set[SenderName]:
        return {
            name
            for name in ("wecom_robot", "wecom_app", "sms", "email", "webhook")
            if getattr(self, name) is not None
        }
