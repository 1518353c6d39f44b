"""The staff pages' targets (issue 19) on the embedded SQLite: with 100,000 contacts and 5,000
escalations, the queue page and a case page each answer in <= 200 ms (p95).

    .venv/bin/python bench/staff_pages.py [--contacts 100000] [--escalations 5000]
        [--unresolved 150] [--requests 200] [--model-dir DIR]

Fills a temporary database through the real schema (``careline db upgrade``): mothers with an
encrypted phone, one message (classified) per contact over a year, escalations over the same
year (``--unresolved`` of them still in the queue: untaken P1/P2/P3 and some taken by the
worker), their audit history. Then serves the real app (``create_app``) on a loopback port,
signs in through the sign-in form as a social worker and as a supervisor, and times
``GET /staff/queue``, its live fragment, and ``GET /staff/cases/{id}`` (each case view also
writes its audit row, as in service), one request at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import create_engine, insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.time_to_human import pct  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.secrets import Secrets  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.db import sync_url  # noqa: E402
from storage.fieldcrypt import FieldCipher  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    AuditEvent,
    Classification,
    Contact,
    Escalation,
    Identity,
    Message,
    Person,
    StaffUser,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ROSTER = {
    "workers": [
        {"id": "sw-chen", "name": "陈晓", "phone": "13800000001"},
        {"id": "sup-liang", "name": "梁督导", "phone": "13800000009"},
    ],
    "supervisors": ["sup-liang"],
}
PASSWORD = "bench-Password-123"
TEXTS = ["最近带孩子好累", "想问问育婴师培训", "孩子上学的补助能申请吗", "我真的不想活了"]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def fill(url: str, cipher: FieldCipher, args: argparse.Namespace) -> list[int]:
    """The rows, written in bulk; the ids of the mothers with an escalation."""
    rng = random.Random(19)
    people = max(args.contacts // 5, 1)
    engine = create_engine(sync_url(make_url(url)))
    hasher = PasswordHasher()
    with engine.begin() as db:
        db.execute(
            insert(StaffUser),
            [
                {
                    "username": u,
                    "display_name": u,
                    "role": r,
                    "password_hash": hasher.hash(PASSWORD),
                    "active": True,
                    "created_at": NOW,
                }
                for u, r in (("sw-chen", "social_worker"), ("sup-liang", "supervisor"))
            ],
        )
        db.execute(
            insert(Person),
            [{"id": i, "pseudonym": f"M-{i:06d}", "created_at": NOW} for i in range(1, people + 1)],
        )
        db.execute(
            insert(Identity),
            [
                {
                    "person_id": i,
                    "kind": "phone",
                    "lookup_hash": cipher.lookup_hash("phone", f"139{i:08d}"),
                    "value_encrypted": cipher.encrypt(f"139{i:08d}", context="phone"),
                    "created_at": NOW,
                }
                for i in range(1, people + 1)
            ],
        )
        contacts, messages, classifications = [], [], []
        for i in range(1, args.contacts + 1):
            at = NOW - timedelta(minutes=rng.randrange(365 * 24 * 60))
            person = (i - 1) % people + 1
            text = TEXTS[i % len(TEXTS)]
            contacts.append(
                {
                    "id": i,
                    "person_id": person,
                    "channel": "api",
                    "service_type": "陪伴式",
                    "intent": "emotional_distress",
                    "summary": "",
                    "message_count": 1,
                    "started_at": at,
                    "ended_at": at,
                    "handled_by": "careline",
                }
            )
            messages.append(
                {
                    "id": i,
                    "person_id": person,
                    "channel": "api",
                    "external_id": f"b-{i}",
                    "direction": "in",
                    "status": "handled",
                    "content_type": "text",
                    "text": text,
                    "addressed": True,
                    "sensitive": False,
                    "contact_id": i,
                    "sent_at": at,
                    "received_at": at,
                }
            )
            classifications.append(
                {
                    "message_id": i,
                    "intent": "emotional_distress",
                    "confidence": 0.8,
                    "risk_level": "low",
                    "risk_reasons": ["累"],
                    "entities": [],
                    "intent_ranking": [],
                    "model_version": "bench",
                    "created_at": at,
                }
            )
        db.execute(insert(Contact), contacts)
        db.execute(insert(Message), messages)
        db.execute(insert(Classification), classifications)
        escalations, audits, escalated = [], [], []
        for i in range(1, args.escalations + 1):
            message = rng.randrange(1, args.contacts + 1)
            person = (message - 1) % people + 1
            at = messages[message - 1]["received_at"]
            open_ = i <= args.unresolved
            status = ("notified" if i % 3 else "acknowledged") if open_ else "resolved"
            taken = "sw-chen" if status == "acknowledged" or not open_ else None
            if open_:
                at = NOW - timedelta(minutes=rng.randrange(600))
            escalations.append(
                {
                    "id": i,
                    "person_id": person,
                    "message_id": message,
                    "priority": ("P1", "P2", "P3")[i % 3],
                    "reason": "想要轻生；风险：高",
                    "risk_level": "high",
                    "status": status,
                    "level": 0,
                    "taken_by": taken,
                    "created_at": at,
                    "updated_at": at,
                    "sla_deadline": at + timedelta(minutes=15),
                    "acknowledged_at": at if taken else None,
                    "resolved_at": None if open_ else at + timedelta(hours=1),
                }
            )
            for action in (
                "escalation.opened",
                "escalation.notified",
                "escalation.acknowledged",
                "escalation.resolved",
            ):
                audits.append(
                    {
                        "at": at,
                        "actor": "careline",
                        "action": action,
                        "object_type": "escalation",
                        "object_id": i,
                        "detail": {},
                    }
                )
            escalated.append(person)
        db.execute(insert(Escalation), escalations)
        db.execute(insert(AuditEvent), audits)
    engine.dispose()
    return sorted(set(escalated))


async def signed_in(base: str, username: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(base + "/staff/sign-in") as form:
        token = CSRF.search(await form.text()).group(1)  # type: ignore[union-attr]
    async with http.post(
        base + "/staff/sign-in",
        data={"csrf": token, "username": username, "password": PASSWORD, "next": ""},
        allow_redirects=False,
    ) as response:
        assert response.status == 303, response.status
    return http


async def timed(http: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with http.get(url, allow_redirects=False) as response:
        await response.read()
        assert response.status == 200, (url, response.status)
    return (time.perf_counter() - started) * 1000


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{directory}/bench.db"
        await upgrade(make_url(url))
        key = os.urandom(32)
        started = time.perf_counter()
        escalated = fill(url, FieldCipher(key), args)
        print(
            f"filled in {time.perf_counter() - started:.1f} s: {args.contacts:,} contacts, "
            f"{args.escalations:,} escalations ({args.unresolved} unresolved)"
        )
        config = parse_config(
            {"database": {"url": url}, "nlu": {"model_dir": str(args.model_dir)}, "roster": ROSTER}
        )
        secrets = Secrets(
            field_key=base64.urlsafe_b64encode(key).decode(),
            session_secret=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        )
        services = await Services.start(config, secrets, run_jobs=False)
        server = TestServer(create_app(services, secrets), host="127.0.0.1")
        await server.start_server()
        base = str(server.make_url("")).rstrip("/")
        rng = random.Random(7)
        try:
            print(f"{'page':<34}{'as':<12}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}")
            for username in ("sw-chen", "sup-liang"):
                http = await signed_in(base, username)
                try:
                    for label, path in (
                        ("queue", "/staff/queue"),
                        ("queue fragment (live update)", "/staff/queue?fragment=1"),
                        ("case page", None),
                    ):
                        times = []
                        for _ in range(args.requests):
                            target = path or f"/staff/cases/{rng.choice(escalated)}"
                            times.append(await timed(http, base + target))
                        p50, p95 = pct(times, 0.5), pct(times, 0.95)
                        print(f"{label:<34}{username:<12}{p50:>8.1f}{p95:>8.1f}{max(times):>8.1f}")
                finally:
                    await http.close()
        finally:
            await server.close()
            await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--escalations", type=int, default=5_000)
    parser.add_argument("--unresolved", type=int, default=150)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--model-dir", type=Path, default=Path("var/models"))
    asyncio.run(main(parser.parse_args()))
