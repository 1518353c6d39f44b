"""Export cells: a text a spreadsheet would run as a formula stays text."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.web.export_rows import HEADERS, csv_record, record, safe_text
from storage.queries.contact_log import ContactRow


def test_text_starting_like_a_formula_gets_a_leading_quote() -> None:
    for risky in ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_text(risky) == "'" + risky
    for plain in ("陪伴式", "agent-017", "1+1", " =1", ""):
        assert safe_text(plain) == plain


def test_a_csv_record_has_every_column_in_local_time_and_guards_its_text() -> None:
    row = ContactRow(
        id=7,
        started_at=datetime(2026, 3, 8, 1, 0, tzinfo=UTC),
        ended_at=datetime(2026, 3, 8, 1, 5, 30, tzinfo=UTC),
        pseudonym="M-ABC123",
        channel="hotline",
        service_type="陪伴式",
        intent="emotional_distress",
        risk="medium",
        message_count=3,
        handled_by="=cmd|' /C calc'!A0",
        summary="情绪困扰；风险：中",
    )
    cells = csv_record(record(row, ZoneInfo("Asia/Shanghai")))
    assert len(cells) == len(HEADERS)
    assert cells[:3] == [7, "2026-03-08 09:00:00", "2026-03-08 09:05:30"]
    assert cells[3:8] == ["M-ABC123", "关爱热线", "陪伴式", "情绪困扰", "中"]
    assert cells[8:] == [3, "'=cmd|' /C calc'!A0", "情绪困扰；风险：中"]
