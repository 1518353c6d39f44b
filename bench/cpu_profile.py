"""Where a server's CPU goes: a profile of its event-loop thread, grouped by component.

``LoopProfiler`` profiles the loop thread of a running server (started and stopped from
another thread) with the thread's own CPU clock, so waiting is not counted; ``breakdown``
groups one or more dumps by component. What the process spent outside the loop thread
(aiosqlite's worker threads running SQLite, the scheduler's thread) is the process's CPU
minus the loop thread's, shown as its own row. Profiling slows the server (the shares are
what to read, not the rps of a profiled run).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

# First match wins: the order goes from the most specific path to the most general.
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "classification (intents, jieba, sklearn)",
        ("/intents/", "jieba", "sklearn", "numpy", "scipy", "opencc", "pypinyin", "jionlp"),
    ),
    (
        "WeChat crypto and XML",
        ("/bot/channels/wechat/", "cryptography", "defusedxml", "xml/", "wechatpy"),
    ),
    ("SQLAlchemy (ORM, Core, compiler)", ("sqlalchemy",)),
    ("sqlmodel and pydantic", ("sqlmodel", "pydantic")),
    ("database driver, loop side", ("aiosqlite", "asyncpg", "sqlite3")),
    ("HTTP (aiohttp, yarl, multidict)", ("aiohttp", "yarl", "multidict")),
    ("event loop (asyncio)", ("asyncio", "selectors", "greenlet", "contextvars")),
    ("Careline's own code", ("/bot/", "/handlers/", "/storage/")),
)
OTHER = "other"
OFF_LOOP = "outside the loop thread (driver threads: SQLite itself; scheduler)"


def component(filename: str) -> str | None:
    for name, needles in COMPONENTS:
        if any(needle in filename for needle in needles):
            return name
    return None


class LoopProfiler:
    """A cProfile of one event loop's thread, driven from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._profile = cProfile.Profile(time.thread_time)

    def start(self) -> None:
        # A profiler hooks the thread that enables it: enable on the loop's own thread.
        asyncio.run_coroutine_threadsafe(self._call(self._profile.enable), self._loop).result()

    def stop(self, dump_to: str) -> str:
        asyncio.run_coroutine_threadsafe(self._call(self._profile.disable), self._loop).result()
        self._profile.dump_stats(dump_to)
        return dump_to

    @staticmethod
    async def _call(action) -> None:  # type: ignore[no-untyped-def]
        action()


def _own_component(stats: dict, key: tuple) -> str:  # type: ignore[type-arg]
    """A built-in (filename "~") counts for whoever called it most: put_nowait is aiosqlite's."""
    filename = key[0]
    if filename != "~":
        return component(filename) or OTHER
    callers = stats[key][4]
    if not callers:
        return OTHER
    caller = max(callers, key=lambda c: callers[c][2] if isinstance(callers[c], tuple) else 0)
    return component(caller[0]) or OTHER


def breakdown(dumps: Iterable[str], process_cpu: float, messages: int) -> str:
    """A table: each component's CPU per message and share of the process's CPU."""
    seconds: Counter[str] = Counter()
    others: Counter[str] = Counter()  # what "other" is, to name its largest parts
    for dump in dumps:
        stats = pstats.Stats(dump).stats  # type: ignore[attr-defined]
        for key, (_, _, tottime, _, _) in stats.items():
            seconds[name := _own_component(stats, key)] += tottime
            if name == OTHER:
                others[f"{Path(key[0]).name}:{key[2]}"] += tottime
    seconds[OFF_LOOP] = max(0.0, process_cpu - sum(seconds.values()))
    lines = [
        "| component | CPU ms per message | share |",
        "|---|---|---|",
    ]
    for name, spent in seconds.most_common():
        label = name
        if name == OTHER and others:
            label += " (most: " + ", ".join(f for f, _ in others.most_common(3)) + ")"
        lines.append(f"| {label} | {spent / messages * 1000:.2f} | {spent / process_cpu:.0%} |")
    lines.append(f"| all (profiled) | {process_cpu / messages * 1000:.2f} | 100% |")
    return "\n".join(lines)
