"""The columns of a contact export and the value of each cell, for CSV and XLSX alike.

Only her pseudonym identifies her: no name, phone or words (Careline keeps no name, and her
identities stay encrypted). A text cell that a spreadsheet would read as a formula (starting
with = + - @, or a tab or carriage return that hides one) gets a leading ' so it stays text
(https://owasp.org/www-community/attacks/CSV_Injection): ``handled_by`` comes from the call
system, for one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.web import texts

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# (header, key in the presented row, kind): "text", "number" or "time".
COLUMNS: tuple[tuple[str, str, str], ...] = (
    (texts.COL_ID, "id", "number"),
    (texts.COL_STARTED, "started_at", "time"),
    (texts.COL_ENDED, "ended_at", "time"),
    (texts.COL_PSEUDONYM, "pseudonym", "text"),
    (texts.COL_CHANNEL, "channel_label", "text"),
    (texts.COL_SERVICE, "service_type", "text"),
    (texts.COL_INTENT, "intent_label", "text"),
    (texts.COL_RISK, "risk_label", "text"),
    (texts.COL_MESSAGES, "message_count", "number"),
    (texts.COL_WORKER, "handled_by", "text"),
    (texts.COL_SUMMARY, "summary", "text"),
)
HEADERS = tuple(header for header, _, _ in COLUMNS)


def safe_text(value: str) -> str:
    """The text as a spreadsheet should show it, never run it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cells(row: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(kind, value) of each column of one presented row; times as naive local datetimes."""
    for _, key, kind in COLUMNS:
        value = row[key]
        if kind == "time":
            yield kind, datetime.fromisoformat(value).replace(tzinfo=None)
        elif kind == "text":
            yield kind, safe_text(str(value))
        else:
            yield kind, value


def csv_record(row: dict[str, Any]) -> list[Any]:
    return [
        value.strftime("%Y-%m-%d %H:%M:%S") if kind == "time" else value
        for kind, value in cells(row)
    ]
