"""``GET /staff/contacts.csv`` and ``GET /staff/contacts.xlsx``: the contact log under the
same filters, for supervisors, every export in the audit log (who, filters, rows).

Memory stays flat whatever the size: contacts are read in keyset batches (a short read
session each, so a slow download never holds a transaction open) and written out batch by
batch. CSV streams straight to the client, UTF-8 with a BOM so Excel reads the Chinese.
XLSX is a zip whose directory comes last: xlsxwriter in ``constant_memory`` mode writes each
row to a temporary file as it comes, the workbook is closed, then the file is streamed. The
writing runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import xlsxwriter
from aiohttp import web

from bot.services import Services
from bot.web import texts
from bot.web.access import current_staff, require
from bot.web.contact_filters import RISK_ORDER, ParsedFilters, parse_filters
from bot.web.contact_view import present
from bot.web.export_rows import HEADERS, cells, csv_record
from bot.web.keys import SERVICES
from storage import queries
from storage.models import Role
from storage.queries.contact_log import Cursor, contact_page

log = logging.getLogger("careline.web.exports")

BATCH = 2_000
CHUNK = 64 * 1024
BOM = "\ufeff"


async def contact_batches(
    services: Services, parsed: ParsedFilters, batch: int = BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every contact under the filters, newest first, presented, ``batch`` at a time."""
    zone = services.config.zone
    after: Cursor | None = None
    while True:
        async with services.db.session() as session:
            page = await contact_page(session, parsed.filters, RISK_ORDER, after=after, limit=batch)
        if page.rows:
            yield [present(row, zone) for row in page.rows]
        if page.next is None:
            return
        after = page.next


def _download_headers(request: web.Request, extension: str, content_type: str) -> dict[str, str]:
    stamp = request.app[SERVICES].clock.now().astimezone(request.app[SERVICES].config.zone)
    name = texts.EXPORT_FILENAME.format(stamp=stamp.strftime("%Y%m%d-%H%M"))
    return {
        "Content-Type": content_type,
        "Content-Disposition": f'attachment; filename="{name}.{extension}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


async def _audited(
    request: web.Request, kind: str, write: Callable[[ParsedFilters, Counter], Awaitable[None]]
) -> None:
    """Run one export and record it, finished or cut off (a client gone mid-way). The record
    is written before the response ends, so whoever has the whole file finds it audited."""
    services = request.app[SERVICES]
    staff = current_staff(request)
    parsed = parse_filters(request.query, services.config.zone)
    counted = Counter()
    complete = False
    try:
        await write(parsed, counted)
        complete = True
    finally:
        async with services.db.write() as session:
            await queries.audit(
                session,
                actor=staff.username,
                action="contacts.export",
                object_type="contact",
                object_id=None,
                at=services.clock.now(),
                detail={
                    "format": kind,
                    "filters": parsed.values,
                    "rows": counted["rows"],
                    "complete": complete,
                },
            )
        log.info("contacts exported as %s by %s: %d rows", kind, staff.username, counted["rows"])


@require(Role.SUPERVISOR, Role.ADMIN)
async def export_csv(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    response = web.StreamResponse(
        headers=_download_headers(request, "csv", "text/csv; charset=utf-8")
    )

    async def write(parsed: ParsedFilters, counted: Counter) -> None:
        await response.prepare(request)
        await response.write((BOM + _csv_lines([list(HEADERS)])).encode())
        async for batch in contact_batches(services, parsed):
            await response.write(_csv_lines(csv_record(r) for r in batch).encode())
            counted["rows"] += len(batch)

    await _audited(request, "csv", write)
    await response.write_eof()
    return response


def _csv_lines(records) -> str:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(records)
    return buffer.getvalue()


@require(Role.SUPERVISOR, Role.ADMIN)
async def export_xlsx(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = web.StreamResponse(headers=_download_headers(request, "xlsx", content_type))

    async def write(parsed: ParsedFilters, counted: Counter) -> None:
        with tempfile.TemporaryDirectory(prefix="careline-export-") as directory:
            path = Path(directory) / "contacts.xlsx"
            sheet = XlsxSheet(path, directory)
            try:
                async for batch in contact_batches(services, parsed):
                    await asyncio.to_thread(sheet.add, batch)
                    counted["rows"] += len(batch)
            finally:
                await asyncio.to_thread(sheet.close)
            # Sent chunked, not with a Content-Length: the client then reads the end only
            # once the export is audited.
            await response.prepare(request)
            with path.open("rb") as file:
                while chunk := await asyncio.to_thread(file.read, CHUNK):
                    await response.write(chunk)

    await _audited(request, "xlsx", write)
    await response.write_eof()
    return response


class XlsxSheet:
    """One worksheet of contacts, written row by row (``constant_memory``: each row goes to a
    temporary file as soon as the next begins)."""

    def __init__(self, path: Path, tmpdir: str) -> None:
        self.book = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "tmpdir": tmpdir, "strings_to_formulas": False}
        )
        self.sheet = self.book.add_worksheet(texts.EXPORT_SHEET)
        self.when = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        bold = self.book.add_format({"bold": True})
        for col, header in enumerate(HEADERS):
            self.sheet.write_string(0, col, header, bold)
        self.sheet.set_column(1, 2, 17)
        self.sheet.set_column(len(HEADERS) - 1, len(HEADERS) - 1, 50)
        self.row = 1

    def add(self, batch: list[dict[str, Any]]) -> None:
        for presented in batch:
            for col, (kind, value) in enumerate(cells(presented)):
                if kind == "time":
                    self.sheet.write_datetime(self.row, col, value, self.when)
                elif kind == "number":
                    self.sheet.write_number(self.row, col, value)
                else:
                    self.sheet.write_string(self.row, col, value)
            self.row += 1

    def close(self) -> None:
        self.book.close()


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/contacts.csv", export_csv)
    app.router.add_get("/staff/contacts.xlsx", export_xlsx)
