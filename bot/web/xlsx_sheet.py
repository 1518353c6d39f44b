"""An XLSX export written by a process of its own, while the service reads the next rows.

xlsxwriter is pure Python: writing 100,000 rows costs more CPU than reading them, and in a
thread it would hold the GIL the event loop needs. So ``python -m bot.web.xlsx_sheet`` owns
the workbook: it reads one JSON line per batch on stdin (the header line first), writes the
rows (``constant_memory``: each row goes to a temporary file as soon as the next begins) and
closes the workbook at the end of its input. The pipe's buffer is the back-pressure: the
service reads batch N + 1 from the database while the writer writes batch N, and holds at
most about two batches. A plain command, not multiprocessing: nothing of the service (its
main module, its model) is imported or copied into the writer.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

TIME_FORMAT = "yyyy-mm-dd hh:mm"


class XlsxSheet:
    """One worksheet, written by the writer process as batches are added."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._kinds: tuple[str, ...] = ()

    async def open(
        self, path: str, tmpdir: str, title: str, headers: Sequence[str], kinds: Sequence[str]
    ) -> None:
        self._kinds = tuple(kinds)
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.web.xlsx_sheet",
            stdin=asyncio.subprocess.PIPE,
        )
        header = {"path": path, "tmpdir": tmpdir, "title": title, "headers": list(headers)}
        await self._send(header | {"kinds": list(kinds)})

    async def add(self, batch: list[tuple[Any, ...]]) -> None:
        await self._send(
            [[v.isoformat() if isinstance(v, datetime) else v for v in cells] for cells in batch]
        )

    async def close(self) -> None:
        """End the input and wait for the workbook to be written."""
        if self._process is None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()
        if await self._process.wait() != 0:
            raise RuntimeError(f"the XLSX writer failed (exit {self._process.returncode})")

    async def _send(self, value: Any) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(value, ensure_ascii=False).encode() + b"\n")
        await self._process.stdin.drain()


def write(lines: Any) -> None:
    """The writer: the header line, then one line per batch, until the input ends."""
    import xlsxwriter

    header = json.loads(next(lines))
    kinds = header["kinds"]
    book = xlsxwriter.Workbook(
        header["path"],
        {"constant_memory": True, "tmpdir": header["tmpdir"], "strings_to_formulas": False},
    )
    sheet = book.add_worksheet(header["title"])
    when = book.add_format({"num_format": TIME_FORMAT})
    bold = book.add_format({"bold": True})
    for col, name in enumerate(header["headers"]):
        sheet.write_string(0, col, name, bold)
    sheet.set_column(0, len(kinds) - 1, 14)
    row = 1
    for line in lines:
        for cells in json.loads(line):
            for col, (kind, value) in enumerate(zip(kinds, cells, strict=True)):
                if kind == "text":
                    sheet.write_string(row, col, value)
                elif kind == "number":
                    sheet.write_number(row, col, value)
                else:
                    sheet.write_datetime(row, col, datetime.fromisoformat(value), when)
            row += 1
    book.close()


if __name__ == "__main__":
    write(iter(sys.stdin.buffer))
