"""Reading a call system's exports, streamed: each call as the webhook's ``Transcript``, or why
its lines were refused, with their line numbers. Nothing holds more than one call at a time
(a CSV file's reading also keeps the ids of the calls read).

- JSONL (``.jsonl``, ``.ndjson``, ``.json``): one call per line, the webhook's JSON shape;
  ``status`` may be left out.
- CSV (``.csv``): a header row, then one row per segment, the rows of a call together and in
  the call's order (layout in ``CSV_COLUMNS`` and the README).

Text is UTF-8 (a byte-order mark allowed) unless told otherwise: Excel on a Chinese Windows
saves CSV as GB18030 (GBK), which ``encoding="gb18030"`` reads.

An export holds calls that are over: each call must be ``final`` (with ``ended_at``). A line over
``max_line_bytes`` is refused without being read into memory.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from bot.channels.hotline.transcript import MAX_SEGMENTS, Transcript, where_wrong
from bot.channels.json_body import MAX_DEPTH, BadJson, read_json

CALL_COLUMNS = ("call_id", "caller", "line", "started_at", "ended_at", "agent_id")
SEGMENT_COLUMNS = ("speaker", "start", "end", "text", "confidence")
CSV_COLUMNS = CALL_COLUMNS + SEGMENT_COLUMNS
# May be left out of the header (she withheld her number, nobody answered, no confidence).
OPTIONAL_COLUMNS = frozenset({"caller", "agent_id", "confidence"})

TOO_LONG = "line too long"
UTF8 = "utf-8"
NOT_FINAL = "status: an imported call must be final"
_BAD_JSON = {"malformed_json": "not valid JSON", "too_deep": f"nested over {MAX_DEPTH} levels"}


@dataclass(frozen=True)
class ExportedCall:
    first_line: int
    last_line: int
    transcript: Transcript


@dataclass(frozen=True)
class Rejected:
    first_line: int
    last_line: int
    reason: str  # where and what, never the value (it may be her words or number)
    call_id: str | None = None
    bad_line: int | None = None  # the row at fault, when the lines are a CSV call's rows


def is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def read_export(
    stream: BinaryIO,
    *,
    csv_layout: bool,
    max_line_bytes: int,
    on_bytes: Callable[[int], None],
    encoding: str = UTF8,
) -> Iterator[ExportedCall | Rejected]:
    lines = _Lines(stream, max_line_bytes, on_bytes, encoding)
    return _csv_calls(lines) if csv_layout else _jsonl_calls(lines)


def not_in(encoding: str) -> str:
    """A line's refusal when its bytes are not text in ``encoding``."""
    if codecs.lookup(encoding).name == UTF8:
        return "not UTF-8 (an Excel CSV is often GB18030: --encoding gb18030)"
    return f"not {encoding}"


class _Lines:
    """The file's physical lines, numbered from 1; a line over the limit is skipped (read in
    pieces, never held) and comes as ``None``. ``on_bytes`` moves the progress bar."""

    _PIECE = 64 * 1024

    def __init__(
        self, stream: BinaryIO, max_bytes: int, on_bytes: Callable[[int], None], encoding: str
    ) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.on_bytes = on_bytes
        self.encoding = encoding
        # A UTF-8 file's first line may start with a byte-order mark (Excel writes one).
        utf8 = codecs.lookup(encoding).name == UTF8
        self._first_line_encoding = "utf-8-sig" if utf8 else encoding
        self.number = 0

    def decode(self, number: int, raw: bytes) -> str:
        """The line as text; ``UnicodeDecodeError``."""
        return raw.decode(self._first_line_encoding if number == 1 else self.encoding)

    def __iter__(self) -> Iterator[tuple[int, bytes | None]]:
        while line := self.stream.readline(self.max_bytes + 1):
            self.number += 1
            self.on_bytes(len(line))
            if len(line) > self.max_bytes and not line.endswith(b"\n"):
                while (rest := self.stream.readline(self._PIECE)) and not rest.endswith(b"\n"):
                    self.on_bytes(len(rest))
                self.on_bytes(len(rest))
                yield self.number, None
            else:
                yield self.number, line


def _jsonl_calls(lines: _Lines) -> Iterator[ExportedCall | Rejected]:
    for number, raw in lines:
        if raw is None:
            yield Rejected(number, number, TOO_LONG)
        elif raw.strip():
            try:
                body = read_json(lines.decode(number, raw))
            except UnicodeDecodeError:
                yield Rejected(number, number, not_in(lines.encoding))
                continue
            except BadJson as exc:
                yield Rejected(number, number, _BAD_JSON.get(exc.reason, exc.reason))
                continue
            if isinstance(body, dict):
                body = {"status": "final"} | body
            yield _exported(body, number, number)


def _exported(
    body: Any, first: int, last: int, rows: list[int] | None = None
) -> ExportedCall | Rejected:
    call_id = body.get("call_id") if isinstance(body, dict) else None
    call_id = call_id if isinstance(call_id, str) and len(call_id) <= 128 else None
    try:
        transcript = Transcript.model_validate(body)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        bad = rows[loc[1]] if rows and loc[:1] == ("segments",) and len(loc) > 1 else None
        return Rejected(first, last, where_wrong(exc), call_id, bad)  # type: ignore[arg-type]
    if not transcript.final:
        return Rejected(first, last, NOT_FINAL, call_id)
    return ExportedCall(first, last, transcript)


# --- CSV --------------------------------------------------------------------------------------


class _Text:
    """The lines as text for the csv reader; lines it cannot read are noted (and read as
    blank) so the calls they belong to are refused with their line numbers."""

    def __init__(self, lines: _Lines) -> None:
        self.lines = lines
        self.problems: list[tuple[int, str]] = []
        self.row_start: int | None = None  # the first line of the row being read

    def __iter__(self) -> Iterator[str]:
        for number, raw in self.lines:
            if self.row_start is None:
                self.row_start = number
            if raw is None:
                self.problems.append((number, TOO_LONG))
                yield "\n"
                continue
            try:
                text = self.lines.decode(number, raw)
            except UnicodeDecodeError:
                self.problems.append((number, not_in(self.lines.encoding)))
                yield "\n"
                continue
            yield text

    def next_row(self, reader: Iterator[list[str]]) -> tuple[int, int, list[str]] | None:
        self.row_start = None
        row = next(reader, None)
        if row is None:
            return None
        return self.row_start or self.lines.number, self.lines.number, row


@dataclass
class _CallRows:
    """The rows of one call read so far."""

    call_id: str
    first_line: int
    call_fields: tuple[str, ...]
    last_line: int = 0
    segments: list[dict[str, Any]] = field(default_factory=list)
    segment_lines: list[int] = field(default_factory=list)
    problem: tuple[int, str] | None = None

    def add(self, first: int, last: int, values: dict[str, str]) -> None:
        self.last_line = last
        if self.problem is not None:
            return
        if tuple(values.get(c, "") for c in CALL_COLUMNS) != self.call_fields:
            self.problem = (first, "the call's columns differ from its first row")
        elif len(self.segments) >= MAX_SEGMENTS:
            self.problem = (first, f"more than {MAX_SEGMENTS} segments")
        elif any(values.get(c, "") for c in SEGMENT_COLUMNS):
            self.segments.append(
                {
                    "speaker": values.get("speaker", ""),
                    "start": values.get("start", ""),
                    "end": values.get("end", ""),
                    "text": values.get("text", ""),
                    "confidence": values.get("confidence") or None,
                }
            )
            self.segment_lines.append(first)
        # A row with every segment column empty is a call in which nothing was transcribed.

    def finish(self) -> ExportedCall | Rejected:
        if self.problem is not None:
            line, reason = self.problem
            return Rejected(self.first_line, self.last_line, reason, self.call_id, line)
        caller, line, started_at, ended_at, agent_id = self.call_fields[1:]
        body = {
            "call_id": self.call_id,
            "caller": caller or None,
            "line": line,
            "started_at": started_at,
            "ended_at": ended_at or None,
            "agent_id": agent_id or None,
            "status": "final",
            "segments": self.segments,
        }
        return _exported(body, self.first_line, self.last_line, self.segment_lines)


def _csv_calls(lines: _Lines) -> Iterator[ExportedCall | Rejected]:
    text = _Text(lines)
    reader = csv.reader(text)
    header_row = _header(text, reader)
    if isinstance(header_row, Rejected):
        yield header_row
        return
    header = header_row
    current: _CallRows | None = None
    # Only the ids of calls already read: a call whose rows are split across the file would
    # otherwise come in twice, as two partial calls.
    seen: set[str] = set()
    while True:
        try:
            read = text.next_row(reader)
        except csv.Error as exc:
            read = None
            broken: Rejected | None = Rejected(lines.number, lines.number, f"CSV: {exc}")
        else:
            broken = None
        problems, text.problems = text.problems, []
        if read is None and broken is None:
            break
        first, last, row = read if read is not None else (lines.number, lines.number, [])
        values = dict(zip(header, (cell.strip() for cell in row), strict=False))
        call_id = values.get("call_id", "")
        if current is not None and (call_id != current.call_id or broken is not None):
            yield current.finish()
            current = None
        for number, reason in problems:
            yield Rejected(number, number, reason)
        if broken is not None:
            yield broken
            break  # the csv reader cannot go on after an error of its own
        if not any(row):
            continue
        if len(row) != len(header):
            yield Rejected(first, last, f"{len(row)} columns, the header has {len(header)}")
            continue
        if current is None:
            if not call_id:
                yield Rejected(first, last, "call_id: empty")
                continue
            if call_id in seen:
                yield Rejected(first, last, "call_id: rows of this call came earlier", call_id)
                continue
            seen.add(call_id)
            call_fields = tuple(values.get(c, "") for c in CALL_COLUMNS)
            current = _CallRows(call_id, first, call_fields)
        current.add(first, last, values)
    if current is not None:
        yield current.finish()


def _header(text: _Text, reader: Iterator[list[str]]) -> list[str] | Rejected:
    try:
        read = text.next_row(reader)
    except csv.Error as exc:
        return Rejected(1, 1, f"CSV header: {exc}")
    if text.problems:
        number, reason = text.problems[0]
        return Rejected(number, number, f"CSV header: {reason}")
    if read is None:
        return Rejected(0, 0, "empty file: no CSV header")
    first, last, row = read
    header = [cell.strip().lower() for cell in row]
    missing = [c for c in CSV_COLUMNS if c not in header and c not in OPTIONAL_COLUMNS]
    if missing:
        return Rejected(first, last, f"CSV header: missing columns {', '.join(missing)}")
    return header
