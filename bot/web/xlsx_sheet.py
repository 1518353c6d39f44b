"""An XLSX export written in a process of its own, while the service reads the next rows.

xlsxwriter is pure Python: writing 100,000 rows costs more CPU than reading them, and in a
thread it would hold the GIL the event loop needs. A worker process (spawned: a fork would
copy the service's threads and model) owns the workbook; batches go to it as plain tuples,
one at a time, so reading batch N + 1 overlaps writing batch N and at most two batches are in
memory. ``constant_memory`` makes xlsxwriter flush each row to a temporary file as soon as
the next begins. This module imports nothing of the service, so the worker starts fast.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import xlsxwriter

_sheet: _Sheet | None = None  # the worker process's workbook


class _Sheet:
    def __init__(
        self, path: str, tmpdir: str, title: str, headers: Sequence[str], kinds: Sequence[str]
    ) -> None:
        self.book = xlsxwriter.Workbook(
            path, {"constant_memory": True, "tmpdir": tmpdir, "strings_to_formulas": False}
        )
        self.sheet = self.book.add_worksheet(title)
        self.when = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.kinds = tuple(kinds)
        bold = self.book.add_format({"bold": True})
        for col, header in enumerate(headers):
            self.sheet.write_string(0, col, header, bold)
        self.sheet.set_column(0, len(headers) - 1, 14)
        self.row = 1

    def add(self, batch: Sequence[tuple[Any, ...]]) -> None:
        sheet, when = self.sheet, self.when
        for cells in batch:
            for col, (kind, value) in enumerate(zip(self.kinds, cells, strict=True)):
                if kind == "text":
                    sheet.write_string(self.row, col, value)
                elif kind == "number":
                    sheet.write_number(self.row, col, value)
                else:
                    sheet.write_datetime(self.row, col, value, when)
            self.row += 1


def _open(*args: Any) -> None:
    global _sheet
    _sheet = _Sheet(*args)


def _add(batch: Sequence[tuple[Any, ...]]) -> None:
    assert _sheet is not None
    _sheet.add(batch)


def _close() -> None:
    global _sheet
    assert _sheet is not None
    _sheet.book.close()
    _sheet = None


class XlsxSheet:
    """One worksheet written by a worker process: ``await add(batch)`` returns once the
    previous batch is written (the new one is then on its way)."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )
        self._pending: asyncio.Future[None] | None = None

    async def open(
        self, path: str, tmpdir: str, title: str, headers: Sequence[str], kinds: Sequence[str]
    ) -> None:
        await self._run(_open, path, tmpdir, title, tuple(headers), tuple(kinds))

    async def add(self, batch: list[tuple[Any, ...]]) -> None:
        if self._pending is not None:
            await self._pending
        self._pending = asyncio.get_running_loop().run_in_executor(self._pool, _add, batch)

    async def close(self) -> None:
        """Write out the workbook and stop the worker (also after a failure)."""
        try:
            if self._pending is not None:
                await self._pending
            await self._run(_close)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, function: Any, *args: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
