"""The columns of a contact export and the value of each cell, for CSV and XLSX alike.

Only her pseudonym identifies her: no name, phone or words (Careline keeps no name, and her
identities stay encrypted). A text cell that a spreadsheet would read as a formula (starting
with = + - @, or a tab or carriage return that hides one) gets a leading ' so it stays text
(https://owasp.org/www-community/attacks/CSV_Injection): ``handled_by`` comes from the call
system, for one.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.web import texts
from storage.queries.contact_log import ContactRow

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# (header, kind): "text", "number" or "time", in the order of ``record``.
COLUMNS: tuple[tuple[str, str], ...] = (
    (texts.COL_ID, "number"),
    (texts.COL_STARTED, "time"),
    (texts.COL_ENDED, "time"),
    (texts.COL_PSEUDONYM, "text"),
    (texts.COL_CHANNEL, "text"),
    (texts.COL_SERVICE, "text"),
    (texts.COL_INTENT, "text"),
    (texts.COL_RISK, "text"),
    (texts.COL_MESSAGES, "number"),
    (texts.COL_WORKER, "text"),
    (texts.COL_SUMMARY, "text"),
)
HEADERS = tuple(header for header, _ in COLUMNS)
KINDS = tuple(kind for _, kind in COLUMNS)
CSV_TIME = "%Y-%m-%d %H:%M:%S"


def safe_text(value: str) -> str:
    """The text as a spreadsheet should show it, never run it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def record(row: ContactRow, zone: ZoneInfo) -> tuple[Any, ...]:
    """One contact's cells: numbers, naive local times, guarded text. Built straight from the
    query's row (an export has 100,000 of them: no page formatting on the way)."""
    return (
        row.id,
        row.started_at.astimezone(zone).replace(tzinfo=None),
        row.ended_at.astimezone(zone).replace(tzinfo=None),
        safe_text(row.pseudonym),
        safe_text(texts.CHANNEL_LABELS.get(row.channel, row.channel)),
        safe_text(row.service_type),
        safe_text(texts.INTENT_LABELS.get(row.intent, row.intent)),
        safe_text(texts.RISK_LABELS.get(row.risk, row.risk)),
        row.message_count,
        safe_text(row.handled_by),
        safe_text(row.summary),
    )


def csv_record(cells: tuple[Any, ...]) -> list[Any]:
    return [
        value.strftime(CSV_TIME) if kind == "time" else value
        for kind, value in zip(KINDS, cells, strict=True)
    ]
