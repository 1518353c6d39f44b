"""A year of a busy care line, generated fast for the dashboard bench.

Bulk inserts through SQLAlchemy Core on the project's own tables (a synchronous engine: the
bench's set-up, not the service's path). Every mother has an encrypted phone (a worker's case
page decrypts it); every contact has one message and that message's classification (the
contact's risk comes from it). Escalations open on some of those messages (their messages say
why, with risk reasons) and carry their audit history: nearly all were acknowledged after a
skewed delay and resolved; the last ``unresolved`` of them are still in the queue, opened in
the hours before ``now``: most untaken, some taken by ``WORKER``. Follow-ups fall due through
the year.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import URL

from intents import Intent, RiskLevel, service_type
from storage.db import sync_url, tune_sqlite_engine
from storage.fieldcrypt import FieldCipher
from storage.models import (
    AuditEvent,
    Classification,
    Contact,
    Escalation,
    FollowUp,
    Identity,
    Message,
    Person,
)

CHANNELS = ("wechat_mp", "wecom", "care_group", "hotline", "api")
WORKER = "sw-chen"  # the social worker who holds some of the open escalations
WORKERS = ("careline", WORKER, "sw-li", "sw-wang", "agent-017", "agent-021")
SERVICE_INTENTS = [i for i in Intent if service_type(i) is not None]
RISKS = [level.value for level in RiskLevel]
RISK_WEIGHTS = (70, 15, 9, 5, 1)
TEXTS = ("最近带孩子好累", "想问问育婴师培训", "孩子上学的补助能申请吗", "家里的事不知道找谁说")
CRISES = (("我真的不想活了", "想要轻生"), ("他喝了酒又打我", "家庭暴力"), ("活着好累", "绝望"))
HISTORY = (
    "escalation.opened",
    "escalation.notified",
    "escalation.acknowledged",
    "escalation.resolved",
)
BATCH = 5_000


@dataclass(frozen=True)
class Generated:
    contacts: int
    escalations: int
    unresolved: int
    follow_ups: int
    year: int
    escalated_people: tuple[int, ...]  # mothers with an escalation (a case page worth opening)


def _chunks(rows: Iterable[dict], size: int = BATCH) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def generate(
    url: URL,
    *,
    contacts: int,
    escalations: int,
    field_key: bytes,
    unresolved: int = 150,
    year: int = 2026,
    now: datetime | None = None,
    seed: int = 19,
) -> Generated:
    """Fill a migrated database with ``contacts`` contacts and ``escalations`` escalations
    spread over ``year`` (to 1 December, as a year in progress); ``unresolved`` of the
    escalations are open, opened in the ten hours before ``now`` (default: now)."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    cipher = FieldCipher(field_key)
    start = datetime(year, 1, 1, tzinfo=UTC) - timedelta(hours=8)
    span = (datetime(year, 12, 1, tzinfo=UTC) - start).total_seconds()
    people = max(1, contacts // 5)
    times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(contacts))
    escalated = sorted(rng.sample(range(1, contacts + 1), min(escalations, contacts)))
    priority_of = {m: rng.choices(("P1", "P2", "P3"), (2, 5, 3))[0] for m in escalated}
    person_of = [rng.randint(1, people) for _ in times]
    engine = create_engine(sync_url(url))
    tune_sqlite_engine(engine)
    try:
        with engine.begin() as conn:
            for chunk in _chunks(_people(people, start, cipher)):
                conn.execute(insert(Person), [row for row, _ in chunk])
                conn.execute(insert(Identity), [identity for _, identity in chunk])
            batches: tuple[list[dict], list[dict], list[dict]] = ([], [], [])
            for n, at in enumerate(times, start=1):
                for rows, row in zip(
                    batches, _contact(rng, n, at, person_of[n - 1], priority_of.get(n)), strict=True
                ):
                    rows.append(row)
                if len(batches[0]) == BATCH:
                    _flush(conn, *batches)
            _flush(conn, *batches)
            opened = list(
                _escalations(rng, escalated, priority_of, times, person_of, unresolved, now)
            )
            for chunk in _chunks(opened):
                conn.execute(insert(Escalation), chunk)
            for chunk in _chunks(_history(opened)):
                conn.execute(insert(AuditEvent), chunk)
            follow_ups = list(_follow_ups(rng, escalated, times, person_of))
            for chunk in _chunks(follow_ups):
                conn.execute(insert(FollowUp), chunk)
    finally:
        engine.dispose()
    return Generated(
        contacts,
        len(opened),
        min(unresolved, len(opened)),
        len(follow_ups),
        year,
        tuple(sorted({e["person_id"] for e in opened})),
    )


def _people(count: int, at: datetime, cipher: FieldCipher) -> Iterator[tuple[dict, dict]]:
    for i in range(1, count + 1):
        phone = f"139{i:08d}"
        yield (
            {"id": i, "pseudonym": f"M-{i:06d}", "created_at": at},
            {
                "person_id": i,
                "kind": "phone",
                "lookup_hash": cipher.lookup_hash("phone", phone),
                "value_encrypted": cipher.encrypt(phone, context="phone"),
                "created_at": at,
            },
        )


def _contact(  # type: ignore[no-untyped-def]
    rng: random.Random, n: int, at: datetime, person: int, priority: str | None
):
    """The contact, its message and the message's classification; an escalated one is a
    crisis (high risk with its reasons)."""
    intent = rng.choice(SERVICE_INTENTS)
    channel = rng.choice(CHANNELS)
    if priority is None:
        risk, text, reasons = rng.choices(RISKS, RISK_WEIGHTS)[0], rng.choice(TEXTS), []
    else:
        text, reason = rng.choice(CRISES)
        risk, reasons = ("high" if priority == "P1" else "medium"), [reason]
    contact = {
        "id": n,
        "person_id": person,
        "channel": channel,
        "service_type": service_type(intent).value,  # type: ignore[union-attr]
        "intent": intent.value,
        "summary": f"{intent.value}；风险：{risk}",
        "message_count": 1,
        "started_at": at,
        "ended_at": at + timedelta(minutes=rng.randint(1, 40)),
        "handled_by": rng.choice(WORKERS),
    }
    message = {
        "id": n,
        "person_id": person,
        "channel": channel,
        "external_id": f"bench-{n}",
        "direction": "in",
        "status": "handled",
        "content_type": "text",
        "text": text,
        "addressed": True,
        "sensitive": False,
        "contact_id": n,
        "sent_at": at,
        "received_at": at,
    }
    classification = {
        "message_id": n,
        "intent": intent.value,
        "confidence": 0.9,
        "risk_level": risk,
        "risk_reasons": reasons,
        "entities": [],
        "intent_ranking": [],
        "model_version": "bench",
        "created_at": at,
    }
    return contact, message, classification


def _flush(conn, *batches: list[dict]) -> None:  # type: ignore[no-untyped-def]
    for table, rows in zip((Contact, Message, Classification), batches, strict=True):
        if rows:
            conn.execute(insert(table), rows)
        rows.clear()


def _escalations(  # type: ignore[no-untyped-def]
    rng: random.Random,
    message_ids: list[int],
    priority_of: dict[int, str],
    times: list[datetime],
    person_of: list[int],
    unresolved: int,
    now: datetime,
):
    closed = len(message_ids) - unresolved
    for n, message_id in enumerate(message_ids, start=1):
        priority = priority_of[message_id]
        opened = times[message_id - 1]
        if n <= closed:
            # Most are taken within minutes; a few wait hours (a P2 at night waits for the day).
            minutes = rng.lognormvariate(1.8 if priority == "P1" else 3.2, 1.0)
            taken_at = opened + timedelta(minutes=minutes)
            status, taker, resolved = (
                "resolved",
                rng.choice(WORKERS[1:4]),
                taken_at + timedelta(hours=2),
            )
        else:
            opened = now - timedelta(minutes=rng.randrange(600))
            taken = n % 3 == 0
            taken_at = opened + timedelta(minutes=5) if taken else None
            status, taker, resolved = (
                ("acknowledged", WORKER, None) if taken else ("notified", None, None)
            )
        yield {
            "id": n,
            "person_id": person_of[message_id - 1],
            "message_id": message_id,
            "priority": priority,
            "reason": "bench",
            "risk_level": "high" if priority == "P1" else "medium",
            "status": status,
            "level": 0,
            "taken_by": taker,
            "created_at": opened,
            "updated_at": resolved or taken_at or opened,
            "notified_at": opened,
            "acknowledged_at": taken_at,
            "resolved_at": resolved,
            "sla_deadline": opened + timedelta(minutes=15),
        }


def _history(escalations: list[dict]) -> Iterator[dict]:
    """Each escalation's audit rows as far as it went."""
    for e in escalations:
        steps = {"notified": 2, "acknowledged": 3, "resolved": 4}[e["status"]]
        for action in HISTORY[:steps]:
            yield {
                "at": e["updated_at"],
                "actor": e["taken_by"]
                if action.endswith(("acknowledged", "resolved"))
                else "careline",
                "action": action,
                "object_type": "escalation",
                "object_id": e["id"],
                "detail": {},
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
            # A scheduled one fires through its outbox row, which the bench leaves out.
            "status": rng.choices(("done", "failed", "scheduled"), (85, 10, 5))[0],
            "due_at": due,
            "attempts": 1,
            "round": 1,
            "created_at": times[message_id - 1],
        }
