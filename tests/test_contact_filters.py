"""The contact log's query string: known choices kept, anything else dropped and named."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.web import texts
from bot.web.contact_filters import parse_filters
from storage.queries.contact_log import Cursor

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_local_days_become_utc_bounds_with_the_last_day_included() -> None:
    parsed = parse_filters({"from": "2026-03-01", "to": "2026-03-31"}, SHANGHAI)
    assert parsed.filters.since == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert parsed.filters.until == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert parsed.invalid == []


def test_every_known_choice_is_kept_and_goes_back_into_links() -> None:
    query = {
        "channel": "hotline",
        "service": "支持式",
        "intent": "legal_aid",
        "worker": "agent-017",
        "risk": "high",
        "q": "法律 援助",
    }
    parsed = parse_filters(query, SHANGHAI)
    f = parsed.filters
    assert (f.channel, f.service_type, f.intent, f.worker, f.risk, f.search) == tuple(
        query.values()
    )
    assert parsed.values == query
    assert "after=abc" in parsed.query(after="abc") and "channel=hotline" in parsed.query()


def test_unknown_values_are_dropped_and_named() -> None:
    query = {"channel": "fax", "risk": "dire", "from": "2026-02-30", "q": "x" * 101, "intent": ""}
    parsed = parse_filters(query, SHANGHAI)
    assert parsed.filters.channel is None and parsed.filters.risk is None
    assert parsed.filters.since is None and parsed.filters.search is None
    assert set(parsed.invalid) == {
        texts.FILTER_CHANNEL,
        texts.FILTER_RISK,
        texts.FILTER_FROM,
        texts.FILTER_SEARCH,
    }
    assert parsed.values == {}


def test_a_page_cursor_is_read_and_a_forged_one_means_the_first_page() -> None:
    cursor = Cursor(datetime(2026, 3, 1, tzinfo=UTC), 5)
    assert parse_filters({"after": cursor.encode()}, SHANGHAI).after == cursor
    assert parse_filters({"before": cursor.encode()}, SHANGHAI).before == cursor
    forged = parse_filters({"after": "%%%"}, SHANGHAI)
    assert forged.after is None and forged.before is None
