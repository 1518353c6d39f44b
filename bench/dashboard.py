"""The staff dashboard on a year of a busy care line: every target of issue 19.

    .venv/bin/python bench/dashboard.py [--contacts 100000] [--escalations 5000]
        [--unresolved 150] [--requests 40] [--crises 20] [--model-dir var/models] [--keep DIR]

Generates a temporary SQLite database (``bench/dashboard_data.py``: 100,000 contacts with their
mothers (an encrypted phone each), messages and classifications, 5,000 escalations with their
audit history, 150 of them still in the queue, and their follow-ups; bulk inserts through
SQLAlchemy Core), starts the real service with its background work (``Services.start``,
``run_jobs=True``: outbox worker, scheduler, the queue stream's version poll) and the real app
(``create_app``) on 127.0.0.1, adds a supervisor and a social worker with ``careline users add``
and signs each in through the sign-in form. Then, one request at a time:

- the escalation queue, its live fragment and a case page (a mother with an escalation, a
  different one each time; each view writes its audit row), as the social worker and as the
  supervisor; the contact log (first page, the page half-way through by its keyset cursor,
  filtered, searched, JSON) as the supervisor — p50 / p95, target p95 <= 200 ms;
- the annual report (page and JSON) — target <= 1 s;
- the XLSX export of the whole year — target <= 10 s — and the growth of the server's peak RSS
  and the XLSX writer process's peak during a Jan 1 – Feb 5 export and during the year's
  (flat: about the same); the CSV export of the year beside it;
- **a P1 on an open queue page**: the social worker's page as ``static/queue.js`` runs it (the
  stream ``/staff/queue/events`` open; on an ``event: queue`` whose version is not the page's,
  it fetches ``/staff/queue?fragment=1`` unless a fetch is under way), while N crisis messages,
  each from a new mother, go through ``POST /api/v1/messages`` with the bearer token. Per
  message: from sending it to the end of the first fragment that holds its escalation. Each is
  sent 0.5–1.5 s after the previous one appeared (a random phase against the 1 s poll), so each
  is its own event — target <= 2 s.

There is no outside reference for these pages, so the figures are absolute, printed with their
targets and the machine's load average at the start and the end. The server and the clients
share this process (one event loop), so the latencies include the clients' own small share.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import yaml  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.dashboard_data import WORKER, Generated, generate  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.secrets import Secrets  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

SUPERVISOR = "sup-liang"
ROSTER = {
    "workers": [
        {"id": WORKER, "name": "陈晓", "phone": "13800000001"},
        {"id": SUPERVISOR, "name": "梁督导", "phone": "13800000009"},
    ],
    "shifts": [
        {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "00:00",
            "primary": WORKER,
            "backup": SUPERVISOR,
        }
    ],
    "supervisors": [SUPERVISOR],
}
PAGE_P95_MS = 200
REPORT_S = 1.0
XLSX_S = 10.0
P1_S = 2.0
CRISES = ("我真的不想活了", "他喝了酒又打我，我好怕", "活着好累，想结束这一切")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ESCALATION = re.compile(r'data-escalation="(\d+)"')
VERSION = re.compile(r'id="queue" data-version="([^"]*)"')


def secrets_env() -> dict[str, str]:
    def key() -> str:
        return base64.urlsafe_b64encode(os.urandom(32)).decode()

    return {
        "CARELINE_API_TOKEN": "bench-" + os.urandom(8).hex(),
        "CARELINE_FIELD_KEY": key(),
        "CARELINE_SESSION_SECRET": key(),
        "CARELINE_ACK_SECRET": key(),
        "CARELINE_ADMIN_PASSWORD": os.urandom(12).hex(),
    }


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


# --- what is printed ---------------------------------------------------------------------------


@dataclass
class Figures:
    rows: list[tuple[str, str, str, bool | None]] = field(default_factory=list)

    def add(self, name: str, figure: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append((name, figure, target, ok))
        mark = "" if ok is None else (" ✓" if ok else " ✗")
        print(f"  {name:<52} {figure:>30}   {target}{mark}", flush=True)

    def table(self) -> str:
        lines = ["| measured | figure | target |", "|---|---|---|"]
        for name, figure, target, ok in self.rows:
            mark = "" if ok is None else (" ✓" if ok else " ✗")
            lines.append(f"| {name} | {figure} | {target}{mark} |")
        return "\n".join(lines)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread_ms(times: list[float]) -> str:
    return f"p50 {pct(times, 0.5):.0f} / p95 {pct(times, 0.95):.0f} ms"


# --- memory ------------------------------------------------------------------------------------


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


class ChildrenPeak:
    """The highest peak RSS of this process's children (the XLSX writer) while it runs: polled
    from /proc every 20 ms in a thread, as a child's own peak is gone once it exits."""

    def __init__(self) -> None:
        self.kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> ChildrenPeak:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            for children in Path("/proc/self/task").glob("*/children"):
                for pid in children.read_text().split():
                    try:
                        status = Path(f"/proc/{pid}/status").read_text()
                    except OSError:
                        continue
                    for line in status.splitlines():
                        if line.startswith("VmHWM:"):
                            self.kib = max(self.kib, int(line.split()[1]))


# --- staff and requests ------------------------------------------------------------------------


def add_user(
    config_path: Path, env: dict[str, str], username: str, role: str, password: str
) -> None:
    careline = Path(sys.executable).parent / "careline"
    subprocess.run(
        [str(careline), "--config", str(config_path), "users", "add", username]
        + ["--role", role, "--name", username, "--password-stdin"],
        input=password + "\n",
        text=True,
        check=True,
        env={**os.environ, **env, "CARELINE_SECRETS_FILE": os.devnull},
        stdout=subprocess.DEVNULL,
    )


async def signed_in(base: str, username: str, password: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(base + "/staff/sign-in") as form:
        token = CSRF.search(await form.text()).group(1)  # type: ignore[union-attr]
    async with http.post(
        base + "/staff/sign-in",
        data={"csrf": token, "username": username, "password": password, "next": ""},
        allow_redirects=False,
    ) as response:
        if response.status != 303:
            raise SystemExit(f"sign-in of {username} failed: {response.status}")
    return http


async def timed_get(http: aiohttp.ClientSession, url: str) -> tuple[int, float, int]:
    """Status, seconds to the whole body, and the body's size (read in chunks, not kept)."""
    start = time.perf_counter()
    size = 0
    async with http.get(url, allow_redirects=False) as response:
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
        status = response.status
    return status, time.perf_counter() - start, size


async def latency(http: aiohttp.ClientSession, urls: list[str]) -> list[float]:
    """Milliseconds for each url in turn, after one unmeasured request to the first."""
    await timed_get(http, urls[0])
    times = []
    for url in urls:
        status, seconds, _ = await timed_get(http, url)
        if status != 200:
            raise SystemExit(f"{url}: {status}")
        times.append(seconds * 1000)
    return times


# --- the measurements --------------------------------------------------------------------------


async def staff_pages(  # type: ignore[no-untyped-def]
    figures: Figures, sessions: dict[str, aiohttp.ClientSession], base: str, n: int, made: Generated
) -> None:
    rng = random.Random(7)
    target = f"p95 <= {PAGE_P95_MS} ms"
    for who, http in sessions.items():
        for name, path in (
            ("queue", "/staff/queue"),
            ("queue fragment", "/staff/queue?fragment=1"),
        ):
            times = await latency(http, [base + path] * n)
            figures.add(
                f"{name} ({who})", spread_ms(times), target, pct(times, 0.95) <= PAGE_P95_MS
            )
        cases = [f"{base}/staff/cases/{rng.choice(made.escalated_people)}" for _ in range(n)]
        times = await latency(http, cases)
        figures.add(
            f"case page, audited ({who})", spread_ms(times), target, pct(times, 0.95) <= PAGE_P95_MS
        )


async def contact_log(  # type: ignore[no-untyped-def]
    figures: Figures, http, base: str, n: int, deep_cursor: str
) -> None:
    for name, path in (
        ("contact log, first page", "/staff/contacts"),
        ("contact log, half-way page (keyset cursor)", f"/staff/contacts?after={deep_cursor}"),
        ("contact log, risk high + search", "/staff/contacts?risk=high&q=legal"),
        ("contact log, one worker + service type", "/staff/contacts?worker=sw-li&service=支持式"),
        ("contact log JSON", "/staff/api/v1/contacts"),
    ):
        times = await latency(http, [base + path] * n)
        figures.add(
            name, spread_ms(times), f"p95 <= {PAGE_P95_MS} ms", pct(times, 0.95) <= PAGE_P95_MS
        )


async def report(figures: Figures, http, base: str, year: int) -> None:  # type: ignore[no-untyped-def]
    for name, path in (
        ("annual report page", "/staff/reports"),
        ("annual report JSON", "/staff/api/v1/reports"),
    ):
        times = await latency(http, [f"{base}{path}?year={year}"] * 5)
        worst = max(times) / 1000
        figures.add(
            name,
            f"max {worst:.2f} s of 5 (p50 {statistics.median(times) / 1000:.2f})",
            f"<= {REPORT_S:g} s",
            worst <= REPORT_S,
        )


async def exports(figures: Figures, http, base: str, year: int) -> None:  # type: ignore[no-untyped-def]
    small = f"from={year}-01-01&to={year}-02-05"  # about a tenth of the year
    results = {}
    for name, query in (("small", small), ("year", f"from={year}-01-01&to={year}-12-31")):
        reset_peak_rss()
        before = peak_rss_kib()
        with ChildrenPeak() as writer:
            status, seconds, size = await timed_get(http, f"{base}/staff/contacts.xlsx?{query}")
        assert status == 200, status
        results[name] = (seconds, size, peak_rss_kib() - before, writer.kib)
    seconds, size, grew, writer = results["year"]
    s_small, size_small, grew_small, writer_small = results["small"]
    figures.add(
        "XLSX export of the year",
        f"{seconds:.1f} s, {size / 1e6:.1f} MB",
        f"<= {XLSX_S:g} s",
        seconds <= XLSX_S,
    )
    figures.add("  the same for Jan 1 – Feb 5", f"{s_small:.1f} s, {size_small / 1e6:.1f} MB")
    figures.add(
        "server peak RSS growth: Jan 1 – Feb 5 vs year",
        f"{grew_small / 1024:.1f} MB vs {grew / 1024:.1f} MB",
        "flat",
        grew <= max(2 * grew_small, grew_small + 16 * 1024),
    )
    figures.add(
        "XLSX writer process peak: Jan 1 – Feb 5 vs year",
        f"{writer_small / 1024:.1f} MB vs {writer / 1024:.1f} MB",
        "flat",
        writer <= writer_small * 1.25 + 4 * 1024,
    )
    reset_peak_rss()
    before = peak_rss_kib()
    status, seconds, size = await timed_get(
        http, f"{base}/staff/contacts.csv?from={year}-01-01&to={year}-12-31"
    )
    assert status == 200, status
    figures.add(
        "CSV export of the year",
        f"{seconds:.1f} s, {size / 1e6:.1f} MB, +{(peak_rss_kib() - before) / 1024:.1f} MB RSS",
    )


class OpenQueuePage:
    """A worker's queue page as ``static/queue.js`` keeps it current: the event stream open; on
    ``event: queue`` with a version not the page's, one fetch of the fragment; an event while a
    fetch is under way marks the page pending, and it fetches again once that fetch is done.
    Each fetch is kept as (the moment its body was read, the escalations it holds)."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.version = ""
        self.loading = False
        self.pending = False
        self._fetches: set[asyncio.Task[None]] = set()
        self.fetches: list[tuple[float, set[int]]] = []
        self.fetched = asyncio.Condition()
        self.events = 0
        self._task: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()

    async def open(self) -> None:
        async with self.http.get(self.base + "/staff/queue") as page:
            self.version = VERSION.search(await page.text()).group(1)  # type: ignore[union-attr]
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._opened.wait(), 10)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _listen(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self.http.get(self.base + "/staff/queue/events", timeout=timeout) as stream:
            assert stream.status == 200, stream.status
            self._opened.set()
            event = ""
            async for raw in stream.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:") and event == "queue":
                    self.events += 1
                    if line.removeprefix("data:").strip() != self.version:
                        self._refresh_soon()
                elif not line:
                    event = ""

    def _refresh_soon(self) -> None:
        if self.loading:
            self.pending = True
            return
        self.loading, self.pending = True, False
        self._fetches.add(task := asyncio.create_task(self._refresh()))
        task.add_done_callback(self._fetches.discard)

    async def _refresh(self) -> None:
        try:
            async with self.http.get(self.base + "/staff/queue?fragment=1") as response:
                html = await response.text()
                drawn_at = response.headers.get("X-Queue-Version")
            done = time.perf_counter()
            if drawn_at:
                self.version = drawn_at
            async with self.fetched:
                self.fetches.append((done, {int(i) for i in ESCALATION.findall(html)}))
                self.fetched.notify_all()
        finally:
            self.loading = False
        if self.pending:
            self._refresh_soon()

    async def shown(self, escalation_id: int, after: float, within: float) -> float | None:
        """When the first fetch read after ``after`` that holds the escalation was read; None
        if none did ``within`` seconds."""

        def seen() -> float | None:
            return next((t for t, ids in self.fetches if t > after and escalation_id in ids), None)

        async with self.fetched:
            try:
                async with asyncio.timeout(within):
                    await self.fetched.wait_for(lambda: seen() is not None)
            except TimeoutError:
                return None
        return seen()


async def p1_on_open_page(  # type: ignore[no-untyped-def]
    figures: Figures, worker: aiohttp.ClientSession, base: str, token: str, crises: int
) -> None:
    page = OpenQueuePage(worker, base)
    await page.open()
    rng = random.Random(16)
    delays: list[float] = []
    missed = not_p1 = 0
    run = os.urandom(4).hex()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as api:
        try:
            await asyncio.sleep(1.5)  # the stream's first version is read
            for n in range(crises):
                sent = time.perf_counter()
                async with api.post(
                    base + "/api/v1/messages",
                    json={"sender": f"bench-mother-{run}-{n}", "text": CRISES[n % len(CRISES)]},
                ) as response:
                    assert response.status == 200, (response.status, await response.text())
                    escalation = (await response.json())["escalation"]
                if not escalation:
                    raise SystemExit(f"crisis message {n} opened no escalation")
                not_p1 += escalation.get("priority") != "P1"
                appeared = await page.shown(int(escalation["id"]), sent, within=15)
                if appeared is None:
                    missed += 1
                else:
                    delays.append(appeared - sent)
                await asyncio.sleep(rng.uniform(0.5, 1.5))
        finally:
            await page.close()
    figure = (
        f"p50 {pct(delays, 0.5):.2f} / p95 {pct(delays, 0.95):.2f} / max {max(delays):.2f} s"
        if delays
        else "never"
    )
    note = f" ({missed} of {crises} not within 15 s)" if missed else ""
    note += f" ({not_p1} not P1)" if not_p1 else ""
    figures.add(
        f"P1 on an open queue page ({crises} messages){note}",
        figure,
        f"<= {P1_S:g} s",
        bool(delays) and not missed and max(delays) <= P1_S,
    )
    print(f"    ({page.events} queue events on the stream)")


# --- the run -----------------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> tuple[Path, dict]:
    """The database's folder and the configuration (written where ``careline`` reads it)."""
    directory = Path(args.keep or tempfile.mkdtemp(prefix="careline-dashboard-"))
    directory.mkdir(parents=True, exist_ok=True)
    url = make_url(f"sqlite+aiosqlite:///{directory / 'careline.db'}")
    raw = {
        "database": {"url": url.render_as_string(hide_password=False)},
        "nlu": {"model_dir": str(args.model_dir.resolve())},
        "roster": ROSTER,
    }
    (directory / "config.yml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    return directory, raw


async def main(args: argparse.Namespace, directory: Path, raw: dict) -> None:
    print(f"load average (1 / 5 / 15 min) at the start: {load()} on {os.cpu_count()} cores")
    url = make_url(raw["database"]["url"])
    env = secrets_env()
    keys = Secrets(**{k.removeprefix("CARELINE_").lower(): v for k, v in env.items()})
    await upgrade(url)
    started = time.perf_counter()
    made = await asyncio.to_thread(
        generate,
        url,
        contacts=args.contacts,
        escalations=args.escalations,
        unresolved=args.unresolved,
        field_key=keys.field_key_bytes(),
    )
    print(
        f"generated {made.contacts:,} contacts, {made.escalations:,} escalations "
        f"({made.unresolved} unresolved) and {made.follow_ups:,} follow-ups in "
        f"{time.perf_counter() - started:.1f} s ({directory})"
    )
    password = os.urandom(12).hex()
    for username, role in ((SUPERVISOR, "supervisor"), (WORKER, "social_worker")):
        await asyncio.to_thread(add_user, directory / "config.yml", env, username, role, password)
    services = await Services.start(parse_config(raw), keys, run_jobs=True)
    runner = web.AppRunner(create_app(services, keys), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    figures = Figures()
    sessions: dict[str, aiohttp.ClientSession] = {}
    try:
        sessions["social worker"] = await signed_in(base, WORKER, password)
        sessions["supervisor"] = await signed_in(base, SUPERVISOR, password)
        supervisor = sessions["supervisor"]
        deep = await deep_cursor(services, pages_in=max(1, args.contacts // 100))
        print(f"\nfigures ({args.requests} requests a page, one at a time):")
        await staff_pages(figures, sessions, base, args.requests, made)
        await contact_log(figures, supervisor, base, args.requests, deep)
        await report(figures, supervisor, base, made.year)
        await exports(figures, supervisor, base, made.year)
        await p1_on_open_page(
            figures, sessions["social worker"], base, keys.api_token or "", args.crises
        )
    finally:
        for http in sessions.values():
            await http.close()
        await runner.cleanup()
        await services.close()
    print(f"\nload average (1 / 5 / 15 min) at the end: {load()}\n")
    print(figures.table())


async def deep_cursor(services: Services, pages_in: int) -> str:
    """The cursor a worker's "older" link carries after ``pages_in`` pages of 50."""
    from sqlalchemy import select

    from storage.models import Contact
    from storage.queries.contact_log import Cursor

    async with services.db.session() as session:
        found = (
            await session.execute(
                select(Contact.started_at, Contact.id)
                .order_by(Contact.started_at.desc(), Contact.id.desc())  # type: ignore[attr-defined]
                .offset(50 * pages_in - 1)
                .limit(1)
            )
        ).one()
    return Cursor(found.started_at, found.id).encode()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--escalations", type=int, default=5_000)
    parser.add_argument("--unresolved", type=int, default=150, help="escalations in the queue")
    parser.add_argument("--requests", type=int, default=40, help="requests a page")
    parser.add_argument("--crises", type=int, default=20, help="P1 messages to an open queue")
    parser.add_argument("--model-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--keep", help="put the database here and leave it")
    arguments = parser.parse_args()
    folder, configuration = prepare(arguments)
    try:
        asyncio.run(main(arguments, folder, configuration))
    finally:
        if not arguments.keep:
            shutil.rmtree(folder, ignore_errors=True)
