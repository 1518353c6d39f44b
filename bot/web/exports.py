"""``GET /staff/contacts.csv`` and ``GET /staff/contacts.xlsx``: the contact log under the
same filters, for supervisors, every export in the audit log (who, filters, rows).

Memory stays flat whatever the size: contacts are read in keyset batches (a short read
session each, so a slow download never holds a transaction open) and written out batch by
batch. CSV streams straight to the client, UTF-8 with a BOM so Excel reads the Chinese.
XLSX is a zip whose directory comes last: the workbook is written as the batches come, in a
worker process (``bot/web/xlsx_sheet.py``), closed, then streamed from its temporary file.
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

from aiohttp import web

from bot.services import Services
from bot.web import texts
from bot.web.access import current_staff, require
from bot.web.contact_filters import RISK_ORDER, ParsedFilters, parse_filters
from bot.web.export_rows import HEADERS, KINDS, csv_record, record
from bot.web.keys import SERVICES
from bot.web.xlsx_sheet import XlsxSheet
from storage import queries
from storage.models import Role
from storage.queries.contact_log import Cursor, contact_page

log = logging.getLogger("careline.web.exports")

BATCH = 5_000
CHUNK = 64 * 1024
BOM = "\ufeff"


async def contact_batches(
    services: Services, parsed: ParsedFilters, batch: int = BATCH
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Every contact under the filters, newest first, as export cells, ``batch`` at a time."""
    zone = services.config.zone
    after: Cursor | None = None
    while True:
        async with services.db.session() as session:
            page = await contact_page(session, parsed.filters, RISK_ORDER, after=after, limit=batch)
        if page.rows:
            yield [record(row, zone) for row in page.rows]
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
    if parsed.invalid:
        # Dropping a filter the page would name back would export more than she asked for.
        raise web.HTTPBadRequest(text=texts.BAD_FILTER.format(fields="、".join(parsed.invalid)))
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
            sheet = XlsxSheet()
            try:
                await sheet.open(str(path), directory, texts.EXPORT_SHEET, HEADERS, KINDS)
                async for batch in contact_batches(services, parsed):
                    await sheet.add(batch)
                    counted["rows"] += len(batch)
            finally:
                await sheet.close()
            # Sent chunked, not with a Content-Length: the client then reads the end only
            # once the export is audited.
            await response.prepare(request)
            with path.open("rb") as file:
                while chunk := await asyncio.to_thread(file.read, CHUNK):
                    await response.write(chunk)

    await _audited(request, "xlsx", write)
    await response.write_eof()
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/contacts.csv", export_csv)
    app.router.add_get("/staff/contacts.xlsx", export_xlsx)
