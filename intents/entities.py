"""Entities: callback times, phone numbers, number of children.

Times come from JioNLP's time extractor (a maintained Chinese time parser; chosen over
ChineseTimeNLP, unmaintained since 2021, which gives no spans and logs at DEBUG through
loguru). JioNLP imports in ~0.6 s and ~45 MB, so it is loaded on first use, not at start-up.
Spans refer to the original message text.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from intents.normalize import Normalized, normalize
from intents.result import Entity

_jionlp_lock = threading.Lock()
_extract_time: Callable[..., list[dict[str, Any]]] | None = None


class _DropJioNLPRecords(logging.Filter):
    """JioNLP logs parser failures with the message's words at ERROR on the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"{os.sep}jionlp{os.sep}" not in record.pathname


def _time_extractor() -> Callable[..., list[dict[str, Any]]]:
    global _extract_time
    with _jionlp_lock:
        if _extract_time is None:
            logging.getLogger().addFilter(_DropJioNLPRecords())
            # JioNLP and jiojio print banners on import; stdout carries `careline parse` JSON.
            with contextlib.redirect_stdout(io.StringIO()):
                import jionlp

                _extract_time = jionlp.ner.extract_time
        return _extract_time


def _representative(start: datetime, end: datetime) -> datetime:
    """One moment for a callback: the start of an exact time (下午三点 → 15:00); the middle
    hour of a vague one (上午 07–12 → 09:00, 晚上 18–24 → 20:00, 周五 → 12:00)."""
    if end - start <= timedelta(hours=1):
        return start
    middle = start + (end - start + timedelta(seconds=1)) / 2
    return middle.replace(minute=0, second=0, microsecond=0)


# JioNLP's time parsing grows steeply with the length of a run of time words (a forged
# "明天明天…" of 200 characters takes seconds), so it reads short clauses, and only a few.
_CLAUSE = re.compile(r"[^,.!?;:，。！？；：、\n]+")
_TIME_HINT = re.compile(
    r"[0-9零一二两三四五六七八九十今明后昨前早晚午中点时分周星期礼拜月日号天夜晨半]"
)
MAX_CLAUSE_CHARS = 20
MAX_TIME_CLAUSES = 4


def _time_chunks(text: str) -> list[tuple[int, str]]:
    chunks: list[tuple[int, str]] = []
    for clause in _CLAUSE.finditer(text):
        for start in range(clause.start(), clause.end(), MAX_CLAUSE_CHARS):
            chunk = text[start : min(start + MAX_CLAUSE_CHARS, clause.end())]
            if _TIME_HINT.search(chunk):
                chunks.append((start, chunk))
                if len(chunks) == MAX_TIME_CLAUSES:
                    return chunks
    return chunks


def extract_times(folded: Normalized, now: datetime, zone: ZoneInfo) -> list[Entity]:
    local_now = now.astimezone(zone)
    base = {
        "year": local_now.year,
        "month": local_now.month,
        "day": local_now.day,
        "hour": local_now.hour,
        "minute": local_now.minute,
        "second": local_now.second,
    }
    found: list[dict[str, Any]] = []
    for offset, chunk in _time_chunks(folded.text):
        try:
            items = _time_extractor()(chunk, time_base=base)
        except Exception:  # noqa: BLE001 - a parser bug must not lose the message
            continue
        for item in items:
            item["offset"] = [item["offset"][0] + offset, item["offset"][1] + offset]
            found.append(item)
    entities: list[Entity] = []
    for item in found:
        detail = item.get("detail") or {}
        bounds = detail.get("time")
        if item.get("type") not in ("time_point", "time_span") or not isinstance(bounds, list):
            continue  # durations (半小时) and periods (每周三) are not callback moments
        try:
            start, end = (datetime.fromisoformat(value).replace(tzinfo=zone) for value in bounds)
        except (TypeError, ValueError):
            continue
        moment = start if item["type"] == "time_span" else _representative(start, end)
        begin, stop = folded.span(*item["offset"])
        entities.append(Entity("time", moment.isoformat(), begin, stop, item["text"]))
    return entities


# Mainland mobiles (1[3-9] + 9 digits, spaces or dashes allowed as 3-4-4) and landlines
# (0 + 2–3 digit area code, 7–8 digit number), optionally with +86.
_PHONE = re.compile(
    r"(?<![\d])(?:\+?86[ -]?)?(?:"
    r"1[3-9]\d[ -]?\d{4}[ -]?\d{4}"
    r"|0\d{2,3}[ -]?\d{7,8}"
    r")(?![\d])"
)


def extract_phones(folded: Normalized) -> list[Entity]:
    entities = []
    for match in _PHONE.finditer(folded.text):
        digits = re.sub(r"\D", "", match.group(0))
        if digits.startswith("86") and len(digits) > 11:
            digits = digits[2:]
        begin, stop = folded.span(match.start(), match.end())
        entities.append(Entity("phone", digits, begin, stop, match.group(0)))
    return entities


_NUMERALS = {
    "一": 1,
    "两": 2,
    "二": 2,
    "俩": 2,
    "三": 3,
    "仨": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_CHILD = r"(?:孩子|小孩|娃娃|娃|宝宝|宝贝|孩|仔女|细路|闺女|女儿|儿子|子女)"
_COUNT = re.compile(rf"(?<!第)([一两二俩三仨四五六七八九十]|\d{{1,2}})(?:个|名|位)?{_CHILD}")
_PAIR = re.compile(r"([一两二三四五])(?:个)?(?:儿|儿子)([一两二三四五])(?:个)?(?:女|女儿)")
_TWINS = re.compile(r"双胞胎|龙凤胎")


def extract_children_count(folded: Normalized) -> list[Entity]:
    text = folded.text
    for pattern, count in (
        (_PAIR, lambda m: _NUMERALS[m.group(1)] + _NUMERALS[m.group(2)]),
        (_COUNT, lambda m: int(m.group(1)) if m.group(1).isdigit() else _NUMERALS[m.group(1)]),
        (_TWINS, lambda m: 2),
    ):
        if match := pattern.search(text):
            value = count(match)
            if 0 < value <= 20:
                begin, stop = folded.span(match.start(), match.end())
                return [Entity("children_count", value, begin, stop, match.group(0))]
    return []


class EntityExtractor:
    def __init__(self, timezone: str = "Asia/Shanghai") -> None:
        self.zone = ZoneInfo(timezone)

    def extract(self, text: str, now: datetime | None = None) -> tuple[Entity, ...]:
        folded = normalize(text)
        if now is None:
            now = datetime.now(self.zone)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=self.zone)
        entities = extract_phones(folded) + extract_children_count(folded)
        # Digits of a phone number are no time (JioNLP reads 138... as a year otherwise).
        masked = _mask_spans(folded, [(e.start, e.end) for e in entities if e.entity == "phone"])
        entities += extract_times(masked, now, self.zone)
        # Quote the message as sent (traditional characters, full-width digits), not folded.
        return tuple(
            sorted(
                (replace(e, text=text[e.start : e.end]) for e in entities), key=lambda e: e.start
            )
        )


def _mask_spans(folded: Normalized, spans: list[tuple[int, int]]) -> Normalized:
    if not spans:
        return folded
    chars = list(folded.text)
    for i, origin in enumerate(folded.origin):
        if any(start <= origin < end for start, end in spans):
            chars[i] = "#"
    return Normalized("".join(chars), folded.origin)
