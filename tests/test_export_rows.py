"""Export cells: a text a spreadsheet would run as a formula stays text."""

from __future__ import annotations

from bot.web.export_rows import HEADERS, csv_record, safe_text


def test_text_starting_like_a_formula_gets_a_leading_quote() -> None:
    for risky in ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_text(risky) == "'" + risky
    for plain in ("陪伴式", "agent-017", "1+1", " =1", ""):
        assert safe_text(plain) == plain


def test_a_csv_record_has_every_column_and_guards_its_text() -> None:
    row = {
        "id": 7,
        "started_at": "2026-03-08T09:00:00+08:00",
        "ended_at": "2026-03-08T09:05:30+08:00",
        "pseudonym": "M-ABC123",
        "channel_label": "关爱热线",
        "service_type": "陪伴式",
        "intent_label": "情绪困扰",
        "risk_label": "中",
        "message_count": 3,
        "handled_by": "=cmd|' /C calc'!A0",
        "summary": "情绪困扰；风险：中",
    }
    record = csv_record(row)
    assert len(record) == len(HEADERS)
    assert record[:3] == [7, "2026-03-08 09:00:00", "2026-03-08 09:05:30"]
    assert record[9] == "'=cmd|' /C calc'!A0"
    assert record[8] == 3 and record[3] == "M-ABC123"
