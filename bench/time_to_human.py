"""Time to a human: how soon a crisis message becomes a notice on a staff member's device.

    .venv/bin/python bench/time_to_human.py [--crises 200] [--ordinary 800] [-c 8]
        [--model-dir DIR] [--skip-sla] [--follow-ups 100000]

Serves the real Careline app (``create_app``) on 127.0.0.1 with a temporary SQLite database,
the embedded NLU, the outbox worker and the scheduler leader running, a one-team duty roster
and the signed staff webhook pointing at a local receiver (standing in for WeCom / SMS). Then:

1. **P1 notice latency**: posts ordinary messages with crisis messages mixed in (each crisis
   from a new mother, so each opens a P1) through ``POST /api/v1/messages`` at concurrency C,
   and measures, per crisis, from the moment its request left to the moment the receiver got
   its first staff notice. Target (issue 16): p99 <= 2 s.
2. **SLA climb**: with ``sla_minutes.P1 = 1``, waits for the backup's notices and measures each
   one's lateness after its escalation's deadline. Target: <= 10 s. (Takes a little over a
   minute of wall time; ``--skip-sla`` leaves it out.)
3. **Follow-ups**: check-ins falling due a few seconds ahead; lateness of the worker's notice
   after the due time. Target: <= 5 s.
4. **Start-up with many scheduled follow-ups**: stores N follow-ups due next week (rows and
   their outbox entries), then times ``Services.start`` until the leader's first outbox poll has
   run. Target: 100,000 in <= 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.secrets import Secrets  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import FollowUp, OutboxItem, OutboxKind, Person  # noqa: E402

ROSTER = {
    "workers": [
        {"id": "duty", "name": "值班社工"},
        {"id": "backup", "name": "备班社工"},
        {"id": "sup", "name": "督导"},
    ],
    "shifts": [
        {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "00:00",
            "primary": "duty",
            "backup": "backup",
        }
    ],
    "supervisors": ["sup"],
}
CRISES = ["我真的不想活了", "他喝了酒又打我，我好怕", "活着好累，想结束这一切"]
ORDINARY = ["谢谢你们", "有没有育婴师培训", "最近睡不好，心里很烦", "你好"]


class Receiver:
    """The staff webhook's far end: when each notice arrived, by escalation and kind."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.changed = asyncio.Event()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def _receive(self, request: web.Request) -> web.Response:
        self.arrivals.append((time.monotonic(), json.loads(await request.read())))
        self.changed.set()
        return web.json_response({"ok": True})

    def first(self, kind: str, recipient: str) -> dict[int, float]:
        seen: dict[int, float] = {}
        for at, notice in self.arrivals:
            if notice["kind"] == kind and notice["recipient"]["id"] == recipient:
                seen.setdefault(notice["escalation_id"], at)
        return seen

    async def wait_for(self, condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
        """Whether ``condition()`` came true within ``seconds`` (checked at each arrival)."""
        try:
            async with asyncio.timeout(seconds):
                while not condition():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def configuration(url: str, model_dir: Path, hook: str) -> dict:
    return {
        "database": {"url": url},
        "nlu": {"model_dir": str(model_dir)},
        "policy": {"sla_minutes": {"P1": 1, "P2": 30, "P3": 240}},
        "roster": ROSTER,
        "notifications": {
            "public_base_url": "http://127.0.0.1",
            "routes": {"default": ["webhook"]},
            "webhook": {"url": hook},
        },
    }


def secrets() -> Secrets:
    return Secrets(
        api_token="bench-" + base64.urlsafe_b64encode(os.urandom(18)).decode(),
        field_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        ack_secret=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        staff_webhook_secret=base64.urlsafe_b64encode(os.urandom(32)).decode(),
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def crisis_latency(base: str, token: str, receiver: Receiver, args) -> dict[int, str]:  # type: ignore[no-untyped-def]
    """Post the mixed load; seconds from each crisis request to its first staff notice."""
    plan = []
    for i in range(args.crises + args.ordinary):
        crisis = i % max(1, (args.crises + args.ordinary) // max(1, args.crises)) == 0
        text = CRISES[i % 3] if crisis else ORDINARY[i % 4]
        plan.append((f"mother-{i}", text, crisis))
    sent: dict[int, float] = {}
    deadlines: dict[int, str] = {}
    queue: asyncio.Queue = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            sender, text, crisis = queue.get_nowait()
            started = time.monotonic()
            async with session.post(
                f"{base}/api/v1/messages", json={"sender": sender, "text": text}, headers=headers
            ) as response:
                outcome = await response.json()
            escalation = outcome.get("escalation")
            if crisis and escalation and escalation["priority"] == "P1":
                sent[escalation["id"]] = started
                deadlines[escalation["id"]] = escalation["sla_deadline"]

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(args.concurrency)))
    ok = await receiver.wait_for(lambda: set(sent) <= set(receiver.first("new", "duty")), 30)
    arrived = receiver.first("new", "duty")
    latencies = [arrived[e] - s for e, s in sent.items() if e in arrived]
    print(
        f"P1 escalations: {len(sent)} (of {args.crises} crisis messages), notified {len(latencies)}"
    )
    if latencies:
        print(
            f"  first staff notice after the message: p50 {pct(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {pct(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
            f"(target p99 <= 2000 ms: {'met' if pct(latencies, 0.99) <= 2 else 'NOT met'})"
        )
    if not ok:
        print("  PROBLEM: some P1s never reached the receiver within 30 s")
    return deadlines


async def sla_lateness(receiver: Receiver, deadlines: dict[int, str]) -> None:
    wall_now, mono_now = datetime.now(UTC), time.monotonic()
    print("waiting for the P1 SLA (1 minute) to pass unacknowledged ...", flush=True)
    await receiver.wait_for(lambda: set(deadlines) <= set(receiver.first("climbed", "backup")), 120)
    climbed = receiver.first("climbed", "backup")
    late = []
    for escalation_id, deadline in deadlines.items():
        if escalation_id in climbed:
            due_mono = mono_now + (datetime.fromisoformat(deadline) - wall_now).total_seconds()
            late.append(climbed[escalation_id] - due_mono)
    if late:
        print(
            f"  backup told after the deadline: p50 {statistics.median(late):.1f} s, "
            f"max {max(late):.1f} s, {len(late)}/{len(deadlines)} "
            f"(target <= 10 s: {'met' if max(late) <= 10 else 'NOT met'})"
        )


async def follow_up_lateness(services: Services, receiver: Receiver, count: int = 20) -> None:
    now = datetime.now(UTC)
    due = now + timedelta(seconds=3)
    async with services.db.write() as session:
        person = Person(pseudonym="M-BENCH1")
        session.add(person)
        await session.flush()
        for i in range(count):
            follow_up = FollowUp(
                person_id=person.id, channel="api", kind="check_in", status="scheduled", due_at=due
            )
            session.add(follow_up)
            await session.flush()
            session.add(
                OutboxItem(
                    kind=OutboxKind.FOLLOW_UP,
                    key=f"bench-follow-up:{i}",
                    follow_up_id=follow_up.id,
                    status="pending",
                    due_at=due,
                    created_at=now,
                )
            )
    due_mono = time.monotonic() + (due - datetime.now(UTC)).total_seconds()

    def arrived() -> list[float]:
        return [at for at, n in receiver.arrivals if n["kind"] == "follow_up"]

    await receiver.wait_for(lambda: len(arrived()) >= count, 30)
    late = [at - due_mono for at in arrived()]
    if late:
        print(
            f"follow-ups: {len(late)}/{count} told, after falling due: max {max(late):.1f} s "
            f"(target <= 5 s: {'met' if max(late) <= 5 else 'NOT met'})"
        )


async def start_up_with(n: int, url, config, keys: Secrets) -> None:  # type: ignore[no-untyped-def]
    from storage.db import Database

    db = Database(url)
    later = datetime.now(UTC) + timedelta(days=7)
    async with db.write() as session:
        person = Person(pseudonym="M-BENCH2")
        session.add(person)
        await session.flush()
        rows = [
            {
                "person_id": person.id,
                "channel": "api",
                "kind": "check_in",
                "status": "scheduled",
                "due_at": later,
                "attempts": 0,
                "created_at": later,
            }
            for _ in range(n)
        ]
        await session.execute(insert(FollowUp), rows)
    async with db.write() as session:
        ids = (
            await session.scalars(FollowUp.__table__.select().with_only_columns(FollowUp.id))
        ).all()
        await session.execute(
            insert(OutboxItem),
            [
                {
                    "kind": OutboxKind.FOLLOW_UP,
                    "key": f"many:{i}",
                    "follow_up_id": i,
                    "status": "pending",
                    "due_at": later,
                    "attempts": 0,
                    "created_at": later,
                }
                for i in ids
            ],
        )
    await db.close()
    started = time.perf_counter()
    services = await Services.start(config, keys)
    await services.outbox.run_due()  # what the leader's first poll does
    took = time.perf_counter() - started
    await services.close()
    print(
        f"start-up with {n:,} scheduled follow-ups: {took:.2f} s "
        f"(target <= 10 s: {'met' if took <= 10 else 'NOT met'})"
    )


async def main(args: argparse.Namespace) -> None:
    receiver = Receiver()
    await receiver.start()
    with tempfile.TemporaryDirectory() as workdir:
        url = make_url(f"sqlite+aiosqlite:///{Path(workdir) / 'careline.db'}")
        await upgrade(url)
        config = parse_config(
            configuration(url.render_as_string(hide_password=False), args.model_dir, receiver.url)
        )
        keys = secrets()
        services = await Services.start(config, keys)
        runner = web.AppRunner(create_app(services, keys), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            deadlines = await crisis_latency(base, keys.api_token, receiver, args)
            if not args.skip_sla and deadlines:
                await sla_lateness(receiver, deadlines)
            await follow_up_lateness(services, receiver)
        finally:
            await runner.cleanup()
            await services.close()
        if args.follow_ups:
            second = make_url(f"sqlite+aiosqlite:///{Path(workdir) / 'many.db'}")
            await upgrade(second)
            many = parse_config(
                configuration(
                    second.render_as_string(hide_password=False), args.model_dir, receiver.url
                )
            )
            await start_up_with(args.follow_ups, second, many, keys)
    await receiver.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crises", type=int, default=200)
    parser.add_argument("--ordinary", type=int, default=800)
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("--model-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--skip-sla", action="store_true")
    parser.add_argument("--follow-ups", type=int, default=100_000)
    asyncio.run(main(parser.parse_args()))
