"""What the acknowledgement page shows of an escalation: plain strings, ready for a template.

Her pseudonym only, never her name or phone; none of her messages either (the link may have
come by SMS, which never carries them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.web import texts
from storage.models import Escalation, Person


@dataclass(frozen=True, slots=True)
class Summary:
    heading: str
    priority: str  # P1, P2, P3: the page's colour
    rows: tuple[tuple[str, str], ...]


def summarize(escalation: Escalation, person: Person, channel: str, zone: ZoneInfo) -> Summary:
    rows = (
        (texts.PSEUDONYM, person.pseudonym),
        (texts.PRIORITY, texts.PRIORITY_LABELS.get(escalation.priority, escalation.priority)),
        (texts.RISK, texts.RISK_LABELS.get(escalation.risk_level, escalation.risk_level)),
        (texts.REASONS, escalation.reason),
        (texts.CHANNEL, texts.CHANNEL_LABELS.get(channel, channel)),
        (texts.OPENED, local_time(escalation.created_at, zone)),
        (texts.DUE, local_time(escalation.sla_deadline, zone)),
        (texts.STATUS, texts.STATUS_LABELS.get(escalation.status, escalation.status)),
        (texts.LEVEL, texts.LEVEL_LABELS.get(escalation.level, str(escalation.level))),
    )
    return Summary(texts.CASE.format(id=escalation.id), escalation.priority, rows)


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(texts.TIME_FORMAT)
