"""The staff dashboard on a year of a busy care line: page latency, the annual report, exports.

    .venv/bin/python bench/dashboard.py [--contacts 100000] [--escalations 5000]
        [--model-dir var/models] [--requests 40] [--keep DIR]

Generates a temporary SQLite database (``bench/dashboard_data.py``: 100,000 contacts with their
mothers, messages and classifications, 5,000 escalations and their follow-ups, bulk inserts
through SQLAlchemy Core), serves the real app (``create_app``) on 127.0.0.1, adds a supervisor
with ``careline users add`` and signs in through the real form, then measures with the
session cookie, one request at a time:

- the contact log: the first page, the page half-way through the log (its keyset cursor),
  filtered and searched pages; the escalation queue and a case page (the other half of
  issue 19: measured when their routes answer, else reported as missing) — p50 / p95,
  target p95 <= 200 ms;
- the annual report (page and JSON) — target <= 1 s;
- the XLSX export of the whole year — target <= 10 s — and the growth of this process's peak
  RSS during a 10,000-row export and during the whole year's (flat: about the same); the CSV
  export of the year beside it.

The server and the client share this process (one event loop), so the latencies include the
client's own small share.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import yaml  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.dashboard_data import generate  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.secrets import Secrets  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

SUPERVISOR = "bench-sup"
QUEUE_PAGE = "/staff/queue"
CASE_PAGE = "/staff/cases/{person_id}"
PAGE_P95_MS = 200
REPORT_S = 1.0
XLSX_S = 10.0


def secrets_env() -> dict[str, str]:
    import base64

    return {
        "CARELINE_API_TOKEN": "bench-" + os.urandom(8).hex(),
        "CARELINE_FIELD_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "CARELINE_SESSION_SECRET": os.urandom(24).hex(),
        "CARELINE_ADMIN_PASSWORD": os.urandom(12).hex(),
    }


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


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


def reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def add_supervisor(config_path: Path, env: dict[str, str], password: str) -> None:
    careline = Path(sys.executable).parent / "careline"
    subprocess.run(
        [str(careline), "--config", str(config_path), "users", "add", SUPERVISOR]
        + ["--role", "supervisor", "--name", "督导（测试）", "--password-stdin"],
        input=password + "\n",
        text=True,
        check=True,
        env={**os.environ, **env, "CARELINE_SECRETS_FILE": os.devnull},
        stdout=subprocess.DEVNULL,
    )


async def sign_in(http: aiohttp.ClientSession, base: str, password: str) -> None:
    import re

    async with http.get(base + "/staff/sign-in") as form:
        token = re.search(r'name="csrf" value="([^"]+)"', await form.text()).group(1)
    async with http.post(
        base + "/staff/sign-in",
        data={"csrf": token, "username": SUPERVISOR, "password": password, "next": ""},
        allow_redirects=False,
    ) as response:
        if response.status != 303:
            raise SystemExit(f"sign-in failed: {response.status}")


async def timed_get(http: aiohttp.ClientSession, url: str) -> tuple[int, float, int]:
    """Status, seconds to the whole body, and the body's size (read in chunks, not kept)."""
    start = time.perf_counter()
    size = 0
    async with http.get(url, allow_redirects=False) as response:
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
        status = response.status
    return status, time.perf_counter() - start, size


async def latency(http: aiohttp.ClientSession, url: str, n: int) -> tuple[int, list[float]]:
    await timed_get(http, url)  # warm
    status, times = 200, []
    for _ in range(n):
        status, seconds, _ = await timed_get(http, url)
        times.append(seconds * 1000)
    return status, times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def line(name: str, figure: str, target: str, ok: bool | None) -> None:
    mark = "" if ok is None else (" ✓" if ok else " ✗")
    print(f"  {name:<44} {figure:>26}   target {target}{mark}")


async def pages(http, base: str, n: int, deep_cursor: str, person_id: int) -> None:  # type: ignore[no-untyped-def]
    urls = {
        "contact log, first page": "/staff/contacts",
        "contact log, half-way page (keyset cursor)": f"/staff/contacts?after={deep_cursor}",
        "contact log, risk high + search": "/staff/contacts?risk=high&q=legal",
        "contact log, one worker + service type": "/staff/contacts?worker=sw-li&service=支持式",
        "contact log JSON": "/staff/api/v1/contacts",
        "escalation queue (other engineer's)": QUEUE_PAGE,
        "case page (other engineer's)": CASE_PAGE.format(person_id=person_id),
    }
    for name, path in urls.items():
        status, times = await latency(http, base + path, n)
        if status == 404:
            line(name, "not on main (404)", f"p95 <= {PAGE_P95_MS} ms", None)
            continue
        if status != 200:
            raise SystemExit(f"{path}: {status}")
        figure = f"p50 {statistics.median(times):.0f} / p95 {p95(times):.0f} ms"
        line(name, figure, f"p95 <= {PAGE_P95_MS} ms", p95(times) <= PAGE_P95_MS)


async def report(http, base: str, year: int) -> None:  # type: ignore[no-untyped-def]
    for name, path in (
        ("annual report page", "/staff/reports"),
        ("annual report JSON", "/staff/api/v1/reports"),
    ):
        status, times = await latency(http, f"{base}{path}?year={year}", 5)
        assert status == 200, status
        worst = max(times) / 1000
        line(
            name,
            f"max {worst:.2f} s of 5 (p50 {statistics.median(times) / 1000:.2f})",
            f"<= {REPORT_S:g} s",
            worst <= REPORT_S,
        )


async def exports(http, base: str, year: int) -> None:  # type: ignore[no-untyped-def]
    small = f"from={year}-01-01&to={year}-02-05"  # about a tenth of the year
    results = {}
    for name, query in (("10k", small), ("year", f"from={year}-01-01&to={year}-12-31")):
        reset_peak_rss()
        before = peak_rss_kib()
        with ChildrenPeak() as writer:
            status, seconds, size = await timed_get(http, f"{base}/staff/contacts.xlsx?{query}")
        assert status == 200, status
        results[name] = (seconds, size, peak_rss_kib() - before, writer.kib)
    async with http.get(f"{base}/staff/api/v1/contacts?from={year}-01-01&to={year}-02-05") as r:
        assert r.status == 200
    seconds, size, grew, writer = results["year"]
    line(
        "XLSX export of the year",
        f"{seconds:.1f} s, {size / 1e6:.1f} MB",
        f"<= {XLSX_S:g} s",
        seconds <= XLSX_S,
    )
    s_small, size_small, grew_small, writer_small = results["10k"]
    line("  the same for Jan 1 – Feb 5", f"{s_small:.1f} s, {size_small / 1e6:.1f} MB", "", None)
    line(
        "server peak RSS growth: Jan 1 – Feb 5 vs year",
        f"{grew_small / 1024:.1f} MB vs {grew / 1024:.1f} MB",
        "flat",
        grew <= max(2 * grew_small, grew_small + 16 * 1024),
    )
    line(
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
    line(
        "CSV export of the year",
        f"{seconds:.1f} s, {size / 1e6:.1f} MB, +{(peak_rss_kib() - before) / 1024:.1f} MB RSS",
        "",
        None,
    )


def prepare(args: argparse.Namespace) -> tuple[Path, dict]:
    """The database's folder and the configuration (written where ``careline`` reads it)."""
    directory = Path(args.keep or tempfile.mkdtemp(prefix="careline-dashboard-"))
    directory.mkdir(parents=True, exist_ok=True)
    url = make_url(f"sqlite+aiosqlite:///{directory / 'careline.db'}")
    raw = {
        "database": {"url": url.render_as_string(hide_password=False)},
        "nlu": {"model_dir": str(args.model_dir)},
    }
    (directory / "config.yml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    return directory, raw


async def main(args: argparse.Namespace, directory: Path, raw: dict) -> None:
    url = make_url(raw["database"]["url"])
    config_path = directory / "config.yml"
    env = secrets_env()
    await upgrade(url)
    started = time.perf_counter()
    made = await asyncio.to_thread(
        generate, url, contacts=args.contacts, escalations=args.escalations
    )
    print(
        f"generated {made.contacts:,} contacts, {made.escalations:,} escalations and "
        f"{made.follow_ups:,} follow-ups in {time.perf_counter() - started:.1f} s ({directory})"
    )
    password = os.urandom(12).hex()
    await asyncio.to_thread(add_supervisor, config_path, env, password)
    keys = Secrets(**{k.removeprefix("CARELINE_").lower(): v for k, v in env.items()})
    services = await Services.start(parse_config(raw), keys, run_jobs=False)
    runner = web.AppRunner(create_app(services, keys), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await sign_in(http, base, password)
            deep = await deep_cursor(services, pages_in=max(1, args.contacts // 100))
            print(f"\nfigures ({args.requests} requests each, one at a time):")
            await pages(http, base, args.requests, deep, person_id=await escalated_person(services))
            await report(http, base, made.year)
            await exports(http, base, made.year)
    finally:
        await runner.cleanup()
        await services.close()


async def deep_cursor(services: Services, pages_in: int) -> str:
    """The cursor a worker's "older" link carries after ``pages_in`` pages of 50."""
    from sqlalchemy import select

    from storage.models import Contact
    from storage.queries.contact_log import Cursor

    async with services.db.session() as session:
        found = (
            await session.execute(
                select(Contact.started_at, Contact.id)
                .order_by(Contact.started_at.desc(), Contact.id.desc())
                .offset(50 * pages_in - 1)
                .limit(1)
            )
        ).one()
    return Cursor(found.started_at, found.id).encode()


async def escalated_person(services: Services) -> int:
    from sqlalchemy import select

    from storage.models import Escalation

    async with services.db.session() as session:
        return int(await session.scalar(select(Escalation.person_id).limit(1)) or 1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--escalations", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--model-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--keep", help="put the database here and leave it")
    arguments = parser.parse_args()
    asyncio.run(main(arguments, *prepare(arguments)))
