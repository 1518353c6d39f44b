"""A year of a busy care line, generated fast for the dashboard bench.

Bulk inserts through SQLAlchemy Core on the project's own tables (a synchronous engine: the
bench's set-up, not the service's path). Every contact has its mother, one message and that
message's classification (the contact's risk comes from it); escalations open on some of
those messages, most of them acknowledged after a skewed delay; follow-ups fall due through
the year.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import URL

from intents import Intent, RiskLevel, service_type
from storage.db import sync_url, tune_sqlite_engine
from storage.models import (
    Classification,
    Contact,
    Escalation,
    FollowUp,
    Message,
    Person,
)

CHANNELS = ("wechat_mp", "wecom", "care_group", "hotline", "api")
WORKERS = ("careline", "sw-zhang", "sw-li", "sw-wang", "agent-017", "agent-021")
SERVICE_INTENTS = [i for i in Intent if service_type(i) is not None]
RISKS = [level.value for level in RiskLevel]
RISK_WEIGHTS = (70, 15, 9, 5, 1)
BATCH = 5_000


@dataclass(frozen=True)
class Generated:
    contacts: int
    escalations: int
    follow_ups: int
    year: int


def _chunks(rows: Iterator[dict], size: int = BATCH) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def generate(
    url: URL, *, contacts: int, escalations: int, year: int = 2026, seed: int = 19
) -> Generated:
    """Fill a migrated database with ``contacts`` contacts and ``escalations`` escalations
    spread over ``year`` (to 1 December, as a year in progress)."""
    rng = random.Random(seed)
    start = datetime(year, 1, 1, tzinfo=UTC) - timedelta(hours=8)
    span = (datetime(year, 12, 1, tzinfo=UTC) - start).total_seconds()
    people = max(1, contacts // 5)
    times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(contacts))
    engine = create_engine(sync_url(url))
    tune_sqlite_engine(engine)
    try:
        with engine.begin() as conn:
            for chunk in _chunks(
                {"id": i + 1, "pseudonym": f"M-{i + 1:06d}", "created_at": start}
                for i in range(people)
            ):
                conn.execute(insert(Person), chunk)
            contact_rows, message_rows, class_rows = [], [], []
            person_of: list[int] = []
            for n, at in enumerate(times, start=1):
                intent = rng.choice(SERVICE_INTENTS)
                person = rng.randint(1, people)
                person_of.append(person)
                channel = rng.choice(CHANNELS)
                risk = rng.choices(RISKS, RISK_WEIGHTS)[0]
                contact_rows.append(
                    {
                        "id": n,
                        "person_id": person,
                        "channel": channel,
                        "service_type": service_type(intent).value,
                        "intent": intent.value,
                        "summary": f"{intent.value}；风险：{risk}",
                        "message_count": 1,
                        "started_at": at,
                        "ended_at": at + timedelta(minutes=rng.randint(1, 40)),
                        "handled_by": rng.choice(WORKERS),
                    }
                )
                message_rows.append(
                    {
                        "id": n,
                        "person_id": person,
                        "channel": channel,
                        "external_id": f"bench-{n}",
                        "direction": "in",
                        "status": "handled",
                        "content_type": "text",
                        "text": "（生成的消息）",
                        "addressed": True,
                        "sensitive": False,
                        "contact_id": n,
                        "sent_at": at,
                        "received_at": at,
                    }
                )
                class_rows.append(
                    {
                        "message_id": n,
                        "intent": intent.value,
                        "confidence": 0.9,
                        "risk_level": risk,
                        "risk_reasons": [],
                        "entities": [],
                        "intent_ranking": [],
                        "model_version": "bench",
                        "created_at": at,
                    }
                )
                if len(contact_rows) == BATCH:
                    _flush(conn, contact_rows, message_rows, class_rows)
            _flush(conn, contact_rows, message_rows, class_rows)
            escalated = sorted(rng.sample(range(1, contacts + 1), min(escalations, contacts)))
            for chunk in _chunks(_escalations(rng, escalated, times, person_of)):
                conn.execute(insert(Escalation), chunk)
            follow_ups = list(_follow_ups(rng, escalated, times, person_of))
            for chunk in _chunks(iter(follow_ups)):
                conn.execute(insert(FollowUp), chunk)
    finally:
        engine.dispose()
    return Generated(contacts, len(escalated), len(follow_ups), year)


def _flush(conn, *batches: list[dict]) -> None:  # type: ignore[no-untyped-def]
    for table, rows in zip((Contact, Message, Classification), batches, strict=True):
        if rows:
            conn.execute(insert(table), rows)
        rows.clear()


def _escalations(  # type: ignore[no-untyped-def]
    rng: random.Random, message_ids: list[int], times: list[datetime], person_of: list[int]
):
    for n, message_id in enumerate(message_ids, start=1):
        opened = times[message_id - 1]
        priority = rng.choices(("P1", "P2", "P3"), (2, 5, 3))[0]
        acked = rng.random() < 0.9
        # Most are taken within minutes; a few wait hours (a P2 at night waits for the day).
        minutes = rng.lognormvariate(1.8 if priority == "P1" else 3.2, 1.0)
        at = opened + timedelta(minutes=minutes) if acked else None
        yield {
            "id": n,
            "person_id": person_of[message_id - 1],
            "message_id": message_id,
            "priority": priority,
            "reason": "bench",
            "risk_level": "high" if priority == "P1" else "medium",
            "status": "acknowledged" if acked else "notified",
            "level": 0,
            "taken_by": "sw-li" if acked else None,
            "created_at": opened,
            "updated_at": at or opened,
            "notified_at": opened,
            "acknowledged_at": at,
            "sla_deadline": opened + timedelta(minutes=15),
        }


def _follow_ups(  # type: ignore[no-untyped-def]
    rng: random.Random, message_ids: list[int], times: list[datetime], person_of: list[int]
):
    for message_id in message_ids:
        due = times[message_id - 1] + timedelta(days=1)
        yield {
            "person_id": person_of[message_id - 1],
            "message_id": message_id,
            "channel": "wechat_mp",
            "kind": rng.choice(("check_in", "callback")),
            "status": rng.choices(("done", "failed", "scheduled"), (85, 10, 5))[0],
            "due_at": due,
            "attempts": 1,
            "round": 1,
            "created_at": times[message_id - 1],
        }
