"""Entities: callback times relative to a fixed now, phone numbers, number of children."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from intents.entities import EntityExtractor

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 23 November 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明天下午三点给我回个电话", datetime(2026, 11, 24, 15, 0, tzinfo=SHANGHAI)),
        ("下周三上午可以吗", datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)),
        ("后天晚上吧", datetime(2026, 11, 25, 21, 0, tzinfo=SHANGHAI)),
        ("今晚8点打给我", datetime(2026, 11, 23, 20, 0, tzinfo=SHANGHAI)),
        ("周五", datetime(2026, 11, 27, 12, 0, tzinfo=SHANGHAI)),
        ("明天 下午 三點 可以嗎", datetime(2026, 11, 24, 15, 0, tzinfo=SHANGHAI)),
        ("下午两点半", datetime(2026, 11, 23, 14, 30, tzinfo=SHANGHAI)),
    ],
)
def test_callback_times_resolve_in_shanghai(
    extractor: EntityExtractor, text: str, expected: datetime
) -> None:
    times = [e for e in extractor.extract(text, NOW) if e.entity == "time"]
    assert len(times) == 1
    value = datetime.fromisoformat(times[0].value)
    assert value == expected
    assert value.utcoffset() == expected.utcoffset()
    assert text[times[0].start : times[0].end] == times[0].text


def test_now_in_another_zone_is_converted(extractor: EntityExtractor) -> None:
    # 20:00 UTC on Sunday is already Monday 04:00 in Shanghai: "明天" is Tuesday.
    now = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    (time,) = extractor.extract("明天上午十点", now)
    assert time.value == "2026-11-24T10:00:00+08:00"


def test_naive_now_is_taken_as_local_time(extractor: EntityExtractor) -> None:
    (time,) = extractor.extract("明天上午十点", datetime(2026, 11, 23, 10, 0))
    assert time.value == "2026-11-24T10:00:00+08:00"


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("我电话13812345678", "13812345678"),
        ("打 138-1234-5678 找我", "13812345678"),
        ("手机 159 8765 4321", "15987654321"),
        ("+86 13912345678", "13912345678"),
        ("座机0755-12345678", "075512345678"),
        ("家里电话010 87654321", "01087654321"),
        ("号码是１３８１２３４５６７８", "13812345678"),
    ],
)
def test_phone_numbers(extractor: EntityExtractor, text: str, digits: str) -> None:
    phones = [e for e in extractor.extract(text, NOW) if e.entity == "phone"]
    assert [p.value for p in phones] == [digits]
    assert text[phones[0].start : phones[0].end] == phones[0].text


@pytest.mark.parametrize("text", ["订单号1381234567890", "12345678901", "孩子3岁了", "房租1500"])
def test_no_phone_in_other_numbers(extractor: EntityExtractor, text: str) -> None:
    assert not [e for e in extractor.extract(text, NOW) if e.entity == "phone"]


def test_a_phone_number_is_not_read_as_a_time(extractor: EntityExtractor) -> None:
    entities = extractor.extract("明天下午三点打13812345678", NOW)
    assert [e.entity for e in entities] == ["time", "phone"]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("我一个人带两个孩子", 2),
        ("家里三个娃", 3),
        ("一儿一女", 2),
        ("两儿一女都在上学", 3),
        ("我有1个孩子", 1),
        ("家里俩孩子", 2),
        ("是一对双胞胎", 2),
    ],
)
def test_children_count(extractor: EntityExtractor, text: str, count: int) -> None:
    found = [e for e in extractor.extract(text, NOW) if e.entity == "children_count"]
    assert [e.value for e in found] == [count]


@pytest.mark.parametrize("text", ["第二个孩子上学了", "孩子两岁了", "两个月的宝宝"])
def test_no_children_count_where_none_is_stated(extractor: EntityExtractor, text: str) -> None:
    assert not [e for e in extractor.extract(text, NOW) if e.entity == "children_count"]


@pytest.mark.parametrize("text", ["", "\u200b", "😀" * 300, "明天" * 2000, "\x00\x01"])
def test_odd_input_yields_no_crash(extractor: EntityExtractor, text: str) -> None:
    for entity in extractor.extract(text, NOW):
        assert 0 <= entity.start <= entity.end <= len(text)
