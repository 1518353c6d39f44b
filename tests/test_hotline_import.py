"""`careline import-transcripts`: JSONL and CSV exports through the hotline's own path, on real
databases (an SQLite file, and PostgreSQL when configured), and the command as a user runs it."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from bot.channels.hotline.batch import ImportSummary
from bot.channels.hotline.her_words import IvrPrompts
from bot.services import Services
from bot.transcript_import import import_file
from storage.models import (
    CallStatus,
    Contact,
    Escalation,
    HotlineCall,
    HotlineSegment,
    Message,
    OutboxItem,
    OutboxKind,
)
from tests.statements import statement_log
from tests.test_cli import ready, run, workdir  # noqa: F401 - the command's fixtures

IVR_WELCOME = "您好，欢迎致电妇联关爱热线，本次通话将被录音。"
CRISIS = "嗯 那个 我真的 我真的不想活了 想从楼上跳下去"
LAST_WEEK = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)

_calls = itertools.count(1)


def segment(speaker: str, text: str, at: float, confidence: float | None = 0.9) -> dict[str, Any]:
    return {
        "speaker": speaker,
        "start": at,
        "end": at + 4.0,
        "text": text,
        "confidence": confidence,
    }


def a_call(*segments: dict[str, Any], caller: str | None = "13800138000", **fields: Any) -> dict:
    n = next(_calls)
    started = LAST_WEEK + timedelta(minutes=20 * n)
    return {
        "call_id": f"export-{n}",
        "caller": caller,
        "line": "关爱热线 1号线",
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=6)).isoformat(),
        "agent_id": "agent-007",
        "segments": list(segments),
    } | fields


def ordinary(caller: str = "13800138001") -> dict[str, Any]:
    return a_call(
        segment("ivr", IVR_WELCOME, 0),
        segment("agent", "您好 关爱热线 请讲", 8),
        segment("caller", "喂 你好 那个 我想问问 育婴师培训 怎么报名", 12),
        segment("caller", "嗯 好的 好的 谢谢", 30, confidence=0.4),
        caller=caller,
    )


def jsonl(path: Path, *lines: dict[str, Any] | str | bytes) -> Path:
    with path.open("wb") as out:
        for line in lines:
            if isinstance(line, dict):
                line = json.dumps(line, ensure_ascii=False)
            out.write((line if isinstance(line, bytes) else line.encode()) + b"\n")
    return path


def csv_export(path: Path, *calls: dict[str, Any], encoding: str = "utf-8-sig") -> Path:
    """One row per segment, the call's columns repeated on each (the README's layout); by
    default UTF-8 with Excel's byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["call_id", "caller", "line", "started_at", "ended_at", "agent_id"]
        + ["speaker", "start", "end", "text", "confidence"]
    )
    for call in calls:
        head = [call[k] or "" for k in ("call_id", "caller", "line", "started_at", "ended_at")]
        head.append(call.get("agent_id") or "")
        for s in call["segments"]:
            writer.writerow(head + [s["speaker"], s["start"], s["end"], s["text"], s["confidence"]])
    path.write_text(out.getvalue(), encoding=encoding)
    return path


async def import_(services: Services, path: Path, encoding: str = "utf-8") -> ImportSummary:
    return await import_file(
        services.pipeline,
        IvrPrompts([IVR_WELCOME]),
        path,
        max_line_bytes=services.config.service.max_body_bytes,
        encoding=encoding,
    )


async def count(services: Services, model: type, *where: Any) -> int:
    async with services.db.session() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int(await session.scalar(query))


def refusals(summary: ImportSummary) -> list[tuple[int, str]]:
    return [(r.first_line, r.reason) for r in summary.refused]


async def test_a_jsonl_export_imports_each_call_as_one_final_call_with_one_contact(
    services: Services, tmp_path: Path
) -> None:
    calls = [ordinary("13800138001"), ordinary("13800138002"), ordinary("13800138003")]
    summary = await import_(services, jsonl(tmp_path / "calls.jsonl", *calls))
    assert (summary.new_calls, summary.new_segments, summary.refused_count) == (3, 6, 0)
    assert len(summary.contacts) == 3 and not summary.escalations
    assert await count(services, HotlineCall, HotlineCall.status == CallStatus.FINAL) == 3
    assert await count(services, HotlineSegment) == 6, "only her words are messages"
    async with services.db.session() as session:
        contacts = (await session.scalars(select(Contact))).all()
    assert {(c.channel, c.handled_by) for c in contacts} == {("hotline", "agent-007")}
    assert all(c.ended_at - c.started_at == timedelta(minutes=6) for c in contacts)


async def test_a_csv_export_with_one_row_per_segment_imports_the_same_calls(
    services: Services, tmp_path: Path
) -> None:
    multiline = a_call(
        segment("caller", "喂 喂\n就是 那个, 孩子上学的补助 能申请吗", 3),
        segment("agent", "可以的 您是哪个区的", 12),
        segment("caller", "", 20, confidence=None),  # a silence
        caller=None,
        agent_id=None,
    )
    summary = await import_(services, csv_export(tmp_path / "calls.csv", ordinary(), multiline))
    assert (summary.new_calls, summary.new_segments, summary.refused_count) == (2, 3, 0)
    async with services.db.session() as session:
        hidden = await session.scalar(
            select(HotlineCall).where(HotlineCall.call_id == multiline["call_id"])
        )
        texts = (await session.scalars(select(Message.text).where(Message.text != ""))).all()
    assert hidden.status == CallStatus.FINAL and hidden.agent_id is None
    assert "喂 喂\n就是 那个, 孩子上学的补助 能申请吗" in texts, "a quoted newline is her words"


async def test_bad_jsonl_lines_are_refused_by_number_and_the_rest_imported(
    services: Services, tmp_path: Path
) -> None:
    limit = services.config.service.max_body_bytes
    oversized = a_call(*(segment("caller", "我想问问培训" * 50, i) for i in range(limit // 300)))
    zero_width = a_call(segment("caller", "\u200b我\ufeff想问问\x07 培训", 2))
    path = jsonl(
        tmp_path / "calls.jsonl",
        ordinary(),  # 1
        "{not json",  # 2
        {"call_id": "only-an-id"},  # 3: fields missing
        oversized,  # 4
        '{"call_id": "c", "line": "L", "started_at": "2026-03-01T10:00:00+08:00", '
        '"ended_at": "2026-03-01T10:05:00+08:00", '
        '"segments": [{"speaker": "caller", "start": 1, "end": 2, "text": "\\ud800"}]}',  # 5
        b'{"call_id": "\xff\xfe"}',  # 6: not UTF-8
        a_call(segment("caller", "你好", 1), status="in_progress", ended_at=None),  # 7
        zero_width,  # 8: odd Unicode, cleaned and kept
        ordinary(),  # 9
    )
    summary = await import_(services, path)
    assert [line for line, _ in refusals(summary)] == [2, 3, 4, 5, 6, 7]
    reasons = dict(refusals(summary))
    assert reasons[2] == "not valid JSON" and reasons[3].startswith("line: ")
    assert reasons[4] == "line too long" and reasons[5].startswith("segments.0.text")
    assert reasons[7] == "status: an imported call must be final"
    assert summary.new_calls == 3 and await count(services, HotlineCall) == 3
    async with services.db.session() as session:
        kept = await session.scalars(select(Message.text).where(Message.text.like("%想问问 培训")))
    assert kept.all() == ["我想问问 培训"]


async def test_an_excel_csv_in_gb18030_is_refused_with_a_hint_then_read_when_told(
    services: Services, tmp_path: Path
) -> None:
    """Excel on a Chinese Windows saves CSV as GB18030 (GBK): not UTF-8."""
    path = csv_export(tmp_path / "calls.csv", ordinary(), encoding="gb18030")
    as_utf8 = await import_(services, path)
    assert as_utf8.new_calls == 0 and as_utf8.refused_count == 4, "each row of the call"
    assert all("--encoding gb18030" in refused.reason for refused in as_utf8.refused)
    told = await import_(services, path, encoding="gb18030")
    assert (told.new_calls, told.refused_count) == (1, 0)
    async with services.db.session() as session:
        texts = (await session.scalars(select(Message.text).where(Message.text != ""))).all()
    assert set(texts) == {s["text"] for s in ordinary()["segments"] if s["speaker"] == "caller"}


async def test_a_bad_csv_row_refuses_its_call_with_the_row_and_the_rest_is_imported(
    services: Services, tmp_path: Path
) -> None:
    broken = ordinary()
    broken["segments"][2]["confidence"] = 1.7  # its third segment: line 4
    path = csv_export(tmp_path / "calls.csv", broken, ordinary())
    summary = await import_(services, path)
    [refused] = summary.refused
    assert (refused.first_line, refused.last_line, refused.bad_line) == (2, 5, 4)
    assert refused.call_id == broken["call_id"] and "confidence" in refused.reason
    assert summary.new_calls == 1 and await count(services, HotlineCall) == 1


async def test_a_rerun_of_the_same_file_imports_nothing_twice(
    services: Services, tmp_path: Path
) -> None:
    path = jsonl(tmp_path / "calls.jsonl", ordinary(), a_call(segment("caller", CRISIS, 5)))
    first = await import_(services, path)
    tables = (Message, Contact, Escalation, HotlineCall, HotlineSegment, OutboxItem)
    rows = [await count(services, table) for table in tables]
    again = await import_(services, path)
    assert (first.new_calls, again.new_calls, again.calls_seen_before) == (2, 0, 2)
    assert again.new_segments == 0 and not again.contacts and not again.escalations
    assert [await count(services, table) for table in tables] == rows


async def test_a_crisis_call_in_the_file_escalates_through_the_outbox(
    services: Services, tmp_path: Path
) -> None:
    crisis = a_call(segment("ivr", IVR_WELCOME, 0), segment("caller", CRISIS, 6))
    summary = await import_(services, jsonl(tmp_path / "calls.jsonl", ordinary(), crisis))
    [escalation_id] = summary.escalations
    async with services.db.session() as session:
        escalation = await session.get_one(Escalation, escalation_id)
        call = await session.scalar(
            select(HotlineCall).where(HotlineCall.call_id == crisis["call_id"])
        )
    assert escalation.priority == "P1" and call.escalation_id == escalation_id
    assert call.risk_level in ("high", "imminent")
    notices = await count(
        services,
        OutboxItem,
        OutboxItem.escalation_id == escalation_id,
        OutboxItem.kind == OutboxKind.STAFF_NOTICE,
    )
    assert notices == 1, "the notice is a row, sent by the running service like any other"


def test_the_command_prints_a_summary_and_exits_non_zero_when_a_line_was_refused(
    ready: Path,  # noqa: F811
) -> None:
    path = jsonl(
        ready / "calls.jsonl", ordinary(), "{not json", a_call(segment("caller", CRISIS, 6))
    )
    first = run(ready, "import-transcripts", str(path), check=False)
    assert first.returncode == 1, first.stderr
    assert "新导入通话 2 个" in first.stdout and "升级 1 个" in first.stdout
    assert "跳过 第 2 行：not valid JSON" in first.stdout
    assert "calls.jsonl" in first.stderr, "the progress bar, on stderr"
    assert CRISIS not in first.stdout + first.stderr and "13800138000" not in first.stderr

    again = run(ready, "import-transcripts", str(path), check=False)
    assert again.returncode == 1 and "新导入通话 0 个（此前已导入 2 个）" in again.stdout

    clean = jsonl(ready / "clean.jsonl", ordinary())
    assert run(ready, "import-transcripts", str(clean)).returncode == 0
    excel = csv_export(ready / "excel.csv", ordinary(), encoding="gb18030")
    assert run(ready, "import-transcripts", "--encoding", "gb18030", str(excel)).returncode == 0
    unknown = run(ready, "import-transcripts", "--encoding", "klingon", str(excel), check=False)
    assert unknown.returncode == 2 and "unknown encoding: klingon" in unknown.stderr
    missing = run(ready, "import-transcripts", str(ready / "nowhere.csv"), check=False)
    assert missing.returncode == 2 and "nowhere.csv" in missing.stderr


async def test_a_call_that_ended_long_ago_is_one_contact_for_all_her_segments(
    services: Services, tmp_path: Path
) -> None:
    # Past the contact gap: the call's contact is continued all the same, its times the call's.
    asks = a_call(
        segment("caller", "那个 我想问问 法律援助 离婚的事", 3),
        segment("caller", "还有 孩子上学的补助 能申请吗", 20),
        segment("caller", "就是 想找个 能带孩子的 兼职工作", 40),
    )
    summary = await import_(services, jsonl(tmp_path / "calls.jsonl", asks))
    assert summary.new_segments == 3 and summary.unhandled_segments == 0
    async with services.db.session() as session:
        [contact] = (await session.scalars(select(Contact))).all()
    assert contact.message_count == 3
    assert contact.started_at == datetime.fromisoformat(asks["started_at"])
    assert contact.ended_at == datetime.fromisoformat(asks["ended_at"])


async def test_calls_go_in_several_to_a_transaction_and_her_second_call_sees_her_first(
    services: Services, tmp_path: Path
) -> None:
    # Her two crisis calls, her number spelled two ways, among others: one escalation, joined
    # by the second call (decided on the case the first left), not two.
    first = a_call(segment("caller", CRISIS, 6), caller="+86 138-0013-8999")
    second = a_call(segment("caller", "我还是 不想活了", 6), caller="13800138999")
    calls = [ordinary("13800138001"), first, ordinary("13800138002"), second]
    with statement_log() as log:
        summary = await import_(services, jsonl(tmp_path / "calls.jsonl", *calls))
    assert summary.new_calls == 4 and summary.refused_count == 0
    assert log.write_transactions == 2, "one for the first three calls, one for her second"
    assert len(summary.escalations) == 1
    async with services.db.session() as session:
        escalated = (
            await session.scalars(
                select(HotlineCall.escalation_id).where(
                    HotlineCall.call_id.in_([first["call_id"], second["call_id"]])
                )
            )
        ).all()
    assert escalated == [*summary.escalations] * 2
    assert await count(services, Escalation) == 1


async def test_a_call_the_database_refuses_is_refused_alone_and_the_rest_imported(
    services: Services, tmp_path: Path
) -> None:
    calls = [ordinary("13800138001"), ordinary("13800138002"), ordinary("13800138003")]
    refused_id = calls[1]["call_id"]
    await refuse_call(services, refused_id)
    try:
        summary = await import_(services, jsonl(tmp_path / "calls.jsonl", *calls))
    finally:
        await refuse_call(services, refused_id, refuse=False)
    assert [r.call_id for r in summary.refused] == [refused_id]
    assert summary.refused[0].reason.startswith("not stored")
    assert summary.new_calls == 2 and await count(services, HotlineCall) == 2
    assert len(summary.contacts) == 2


async def test_calls_stored_before_a_refused_one_in_a_later_transaction_count_as_new(
    services: Services, tmp_path: Path
) -> None:
    # Her second call starts a second transaction; a call in it is refused. The first
    # transaction's calls are stored: new in the summary (her crisis among them), not
    # "seen before" as a retry of them would find them.
    crisis = a_call(segment("caller", CRISIS, 6), caller="13800138999")
    again = ordinary("13800138999")
    refused = ordinary("13800138003")
    calls = [crisis, ordinary("13800138001"), again, refused]
    await refuse_call(services, refused["call_id"])
    try:
        summary = await import_(services, jsonl(tmp_path / "calls.jsonl", *calls))
    finally:
        await refuse_call(services, refused["call_id"], refuse=False)
    assert [r.call_id for r in summary.refused] == [refused["call_id"]]
    assert (summary.new_calls, summary.calls_seen_before) == (3, 0)
    assert len(summary.escalations) == 1 and len(summary.contacts) == 3
    assert await count(services, HotlineCall) == 3


async def refuse_call(services: Services, call_id: str, *, refuse: bool = True) -> None:
    """A database that refuses one call (a trigger), as a constraint would."""
    statements = {
        "sqlite": [
            f"CREATE TRIGGER refuse_call BEFORE INSERT ON hotline_call "
            f"WHEN NEW.call_id = '{call_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
        if refuse
        else ["DROP TRIGGER refuse_call"],
        "postgresql": [
            "CREATE FUNCTION refuse_call() RETURNS trigger AS "
            "$$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER refuse_call BEFORE INSERT ON hotline_call FOR EACH ROW "
            f"WHEN (NEW.call_id = '{call_id}') EXECUTE FUNCTION refuse_call()",
        ]
        if refuse
        else ["DROP TRIGGER refuse_call ON hotline_call", "DROP FUNCTION refuse_call()"],
    }
    async with services.db.write() as session:
        for statement in statements[services.db.dialect]:
            await session.execute(text(statement))


async def test_two_imports_at_once_with_the_same_callers_in_other_orders_store_every_call(
    services: Services, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Two call systems' exports imported at the same time, the callers met in opposite
    # orders: on PostgreSQL two transactions that took her rows in their own orders would
    # deadlock, and one batch's decisions would be left for later.
    callers = [f"1380013{n:04d}" for n in range(40)]
    forward = [ordinary(c) for c in callers]
    backward = [ordinary(c) for c in reversed(callers)]
    summaries = await asyncio.gather(
        import_(services, jsonl(tmp_path / "forward.jsonl", *forward)),
        import_(services, jsonl(tmp_path / "backward.jsonl", *backward)),
    )
    assert [(s.new_calls, s.refused_count) for s in summaries] == [(40, 0), (40, 0)]
    assert await count(services, HotlineCall) == 80
    assert "decision not written" not in caplog.text
