"""Live updates of the escalation queue: ``GET /staff/queue/events``, server-sent events.

Replica-safe without a message bus: each process asks the database every
``dashboard.live_poll_seconds`` for the queue's version (``queries.queue_version``: a change by
any process, the CLI included, changes it) and tells every stream it serves. One query per
process per period, however many pages are open; none while no page is. A stream says
``event: queue`` with the new version, and sends a comment as a heartbeat while nothing
changes (https://html.spec.whatwg.org/multipage/server-sent-events.html).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from storage import queries
from storage.db import Database

log = logging.getLogger("careline.web.queue_events")

PATH = "/staff/queue/events"
RECONNECT_MILLISECONDS = 3000


class QueueWatch:
    """The queue's version, polled by one task while at least one stream listens."""

    def __init__(self, db: Database, *, interval: float) -> None:
        self._db = db
        self._interval = interval
        self._listeners = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.version: str | None = None
        self.closed = False

    async def current(self) -> str:
        """The version now, read from the database (a page is drawn at it)."""
        async with self._db.session() as session:
            return _opaque(await queries.queue_version(session))

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        self._listeners += 1
        if self._task is None or self._task.done():
            self.version = None  # not polled while nobody listened: unknown until read
            self._task = asyncio.create_task(self._poll(), name="queue-watch")
        try:
            yield
        finally:
            self._listeners -= 1

    async def change_from(self, seen: str | None) -> str | None:
        """The version once it is not ``seen``; None when closing."""
        while not self.closed:
            if self.version is not None and self.version != seen:
                return self.version
            await self._changed.wait()
        return None

    async def close(self) -> None:
        self.closed = True
        self._changed.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _poll(self) -> None:
        while self._listeners and not self.closed:
            try:
                version = await self.current()
            except Exception as exc:
                # The database is away for a moment: the streams stay open, the next poll
                # tries again.
                log.warning("queue version unavailable: %s", type(exc).__name__)
            else:
                if version != self.version:
                    self.version = version
                    # Wake every waiting stream, and give later waits a fresh event.
                    self._changed.set()
                    self._changed = asyncio.Event()
            await asyncio.sleep(self._interval)


def _opaque(version: str) -> str:
    """Counts and times mean nothing to a page: it only compares versions."""
    return hashlib.sha256(version.encode()).hexdigest()[:16]


async def stream(
    request: web.Request,
    watch: QueueWatch,
    heartbeat: float,
    still_signed_in: Callable[[], Awaitable[bool]],
) -> web.StreamResponse:
    """The stream until the page goes, the server stops, or her session ends (asked at each
    heartbeat: a signed-out or disabled account keeps no open line to the queue)."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass each event on at once
        }
    )
    await response.prepare(request)
    try:
        await response.write(f"retry: {RECONNECT_MILLISECONDS}\n\n".encode())
        seen: str | None = None
        async with watch.listening():
            while not watch.closed:
                try:
                    async with asyncio.timeout(heartbeat):
                        version = await watch.change_from(seen)
                except TimeoutError:
                    if not await still_signed_in():
                        break
                    await response.write(b": heartbeat\n\n")
                    continue
                if version is not None:
                    seen = version
                    await response.write(f"event: queue\ndata: {version}\n\n".encode())
    except ConnectionResetError:
        pass  # the page went away
    return response
