"""The contact log's filters as they arrive in a query string, checked and turned into a
``ContactFilter``; the page, its exports and the JSON API read the same parameters.

Dates are local days (``service.timezone``), both ends included. A value that is not one of
the known choices is dropped and named back to the worker, never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.message import has_control_characters
from bot.web import texts
from bot.web.api import DAY_MAX, DAY_MIN
from intents import Intent, RiskLevel, ServiceType
from storage.queries.contact_log import ContactFilter, Cursor

FIELDS = ("from", "to", "channel", "service", "intent", "worker", "risk", "q")
SEARCH_MAX = 100
WORKER_MAX = 64
RISK_ORDER: tuple[str, ...] = tuple(level.value for level in RiskLevel)


@dataclass(frozen=True, slots=True)
class ParsedFilters:
    filters: ContactFilter
    values: dict[str, str]  # the accepted parameters, to fill the form and build links
    invalid: list[str] = field(default_factory=list)  # labels of the fields dropped
    invalid_names: list[str] = field(default_factory=list)  # their parameters' names
    after: Cursor | None = None
    before: Cursor | None = None

    def query(self, **extra: str) -> str:
        """The query string of these filters (plus ``extra``), for links."""
        return urlencode({**self.values, **extra})


_CHOICES: dict[str, tuple[str, ...]] = {
    "channel": tuple(texts.CHANNEL_LABELS),
    "service": tuple(s.value for s in ServiceType),
    "intent": tuple(i.value for i in Intent),
    "risk": RISK_ORDER,
}
_LABELS = {
    "from": texts.FILTER_FROM,
    "to": texts.FILTER_TO,
    "channel": texts.FILTER_CHANNEL,
    "service": texts.FILTER_SERVICE,
    "intent": texts.FILTER_INTENT,
    "worker": texts.FILTER_WORKER,
    "risk": texts.FILTER_RISK,
    "q": texts.FILTER_SEARCH,
}


def parse_filters(query: Mapping[str, str], zone: ZoneInfo) -> ParsedFilters:
    values: dict[str, str] = {}
    invalid: list[str] = []
    invalid_names: list[str] = []
    for name in FIELDS:
        raw = (query.get(name) or "").strip()
        if not raw:
            continue
        if _acceptable(name, raw):
            values[name] = raw
        else:
            invalid.append(_LABELS[name])
            invalid_names.append(name)
    since = _day_start(values.get("from"), zone)
    until = _day_start(values.get("to"), zone, days=1)
    filters = ContactFilter(
        since=since,
        until=until,
        channel=values.get("channel"),
        service_type=values.get("service"),
        intent=values.get("intent"),
        worker=values.get("worker"),
        risk=values.get("risk"),
        search=values.get("q"),
    )
    after = Cursor.decode(query["after"]) if query.get("after") else None
    before = Cursor.decode(query["before"]) if query.get("before") and after is None else None
    return ParsedFilters(filters, values, invalid, invalid_names, after, before)


def _acceptable(name: str, raw: str) -> bool:
    if has_control_characters(raw):
        return False
    if name in _CHOICES:
        return raw in _CHOICES[name]
    if name in ("from", "to"):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return False
        return len(raw) == 10 and DAY_MIN <= day <= DAY_MAX
    if name == "worker":
        return len(raw) <= WORKER_MAX
    return len(raw) <= SEARCH_MAX  # q


def _day_start(day: str | None, zone: ZoneInfo, *, days: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(date.fromisoformat(day) + timedelta(days=days), time(), zone)
