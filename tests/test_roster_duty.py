from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.roster import RosterConfig, escalation_chain, gaps, on_duty, timeline
from tests.roster_fixture import SHANGHAI, local, roster


def names(at: datetime, zone: ZoneInfo = SHANGHAI) -> tuple[str | None, str | None]:
    duty = on_duty(roster(), at, zone)
    return (
        duty.primary.id if duty.primary else None,
        duty.backup.id if duty.backup else None,
    )


def test_weekday_daytime_has_primary_and_backup() -> None:
    assert names(local(10, 9)) == ("li", "wang")


def test_the_answer_depends_on_the_moment_not_on_its_zone() -> None:
    assert names(local(10, 9).astimezone(UTC)) == names(local(10, 9))


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        on_duty(roster(), datetime(2026, 3, 10, 9), SHANGHAI)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local(10, 20), ("wang", "zhao")),  # the night shift starts
        (local(11, 2), ("wang", "zhao")),  # after midnight it is still Tuesday's shift
        (local(11, 7, 59), ("wang", "zhao")),
        (local(11, 8), ("li", "wang")),  # and ends at 08:00 the next morning
        (local(14, 7), ("wang", "zhao")),  # Friday's night shift runs into Saturday
    ],
)
def test_a_night_shift_crosses_midnight(at: datetime, expected: tuple[str, str]) -> None:
    assert names(at) == expected


def test_a_dated_override_replaces_the_weekly_shift_for_its_window_only() -> None:
    duty = on_duty(roster(), local(11, 13), SHANGHAI)
    assert duty.primary is not None and duty.primary.id == "zhao"
    assert duty.backup is None and duty.source == "override"
    assert names(local(11, 11, 59)) == ("li", "wang")
    assert names(local(11, 16)) == ("li", "wang")


def test_the_backup_stands_in_for_a_primary_on_leave() -> None:
    duty = on_duty(roster(), local(12, 10), SHANGHAI)
    assert duty.primary is not None and duty.primary.id == "wang"
    assert duty.backup is None
    assert duty.on_leave is not None and duty.on_leave.id == "li"
    assert names(local(13, 10)) == ("li", "wang")  # leave covers whole days only


def test_a_backup_on_leave_is_simply_absent() -> None:
    # Thursday's night shift: li is not in it, so leave changes nothing there.
    assert names(local(12, 22)) == ("wang", "zhao")
    # Saturday's day shift has li as backup: put her on leave that day.
    data = roster().model_dump()
    data["leave"] = [{"worker": "li", "first_day": "2026-03-14", "last_day": "2026-03-14"}]
    duty = on_duty(RosterConfig.model_validate(data), local(14, 10), SHANGHAI)
    assert duty.primary is not None and duty.primary.id == "zhao" and duty.backup is None


def test_primary_and_backup_both_on_leave_is_a_gap() -> None:
    data = roster().model_dump()
    data["leave"] = [
        {"worker": w, "first_day": "2026-03-10", "last_day": "2026-03-10"} for w in ("li", "wang")
    ]
    assert on_duty(RosterConfig.model_validate(data), local(10, 9), SHANGHAI).is_gap


def test_nobody_rostered_is_a_gap() -> None:
    assert names(local(14, 8, 30)) == (None, None)  # Saturday between night and day shift
    assert on_duty(roster(), local(15, 12), SHANGHAI).is_gap  # Sunday


def test_gaps_over_a_week_are_exactly_the_unrostered_stretches() -> None:
    found = gaps(roster(), local(9, 0), local(16, 0), SHANGHAI)
    assert [(g.start, g.end) for g in found] == [
        (local(9, 0), local(9, 8)),  # Sunday night into Monday: no night shift on Sunday
        (local(14, 8), local(14, 9)),  # Saturday: night shift ends 08:00, day starts 09:00
        (local(14, 21), local(16, 0)),  # Saturday 21:00 until the window ends
    ]


def test_the_timeline_covers_the_window_without_holes() -> None:
    start, end = local(9, 0), local(16, 0)
    spans = timeline(roster(), start, end, SHANGHAI)
    assert spans[0].start == start and spans[-1].end == end
    assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
    assert all(a.duty != b.duty for a, b in zip(spans, spans[1:], strict=False))


def test_an_incoming_shift_wins_a_handover_overlap() -> None:
    data = roster().model_dump()
    data["shifts"].append(
        {"days": ["tue"], "start": "19:30", "end": "21:00", "primary": "zhao", "backup": None}
    )
    overlapping = RosterConfig.model_validate(data)
    assert on_duty(overlapping, local(10, 19, 45), SHANGHAI).primary.id == "zhao"  # type: ignore[union-attr]
    # 20:00: the night shift starts later than zhao's, so it takes over.
    assert on_duty(overlapping, local(10, 20, 30), SHANGHAI).primary.id == "wang"  # type: ignore[union-attr]


def test_shanghai_has_no_dst_so_every_night_shift_is_twelve_hours() -> None:
    # 2026-03-08 (US) and 2026-03-29 (EU) are DST nights elsewhere; not in Shanghai.
    for day in (2026, 3, 9), (2026, 3, 30):
        start = datetime(*day, 20, tzinfo=SHANGHAI)
        spans = timeline(roster(), start, start + timedelta(hours=13), SHANGHAI)
        assert spans[0].end - spans[0].start == timedelta(hours=12)


def test_a_dst_zone_shift_lasts_the_real_hours_of_its_night() -> None:
    new_york = ZoneInfo("America/New_York")
    data = roster().model_dump()
    data["shifts"] = [{"days": ["sat"], "start": "20:00", "end": "08:00", "primary": "wang"}]
    night = RosterConfig.model_validate(data)
    start = datetime(2026, 3, 7, 20, tzinfo=new_york)  # clocks spring forward at 02:00
    spans = timeline(night, start, start + timedelta(hours=12), new_york)
    assert spans[0].duty.primary is not None
    assert spans[0].end - spans[0].start == timedelta(hours=11)


def test_the_chain_is_primary_then_backup_then_every_supervisor() -> None:
    chain = escalation_chain(roster(), local(10, 9), SHANGHAI)
    assert [(s.role, [p.id for p in s.people]) for s in chain] == [
        ("primary", ["li"]),
        ("backup", ["wang"]),
        ("supervisors", ["sun", "zhou"]),
    ]


def test_in_a_gap_the_chain_goes_straight_to_the_supervisors() -> None:
    chain = escalation_chain(roster(), local(15, 3), SHANGHAI)
    assert [(s.role, [p.id for p in s.people]) for s in chain] == [("supervisors", ["sun", "zhou"])]


def test_with_the_primary_on_leave_the_chain_starts_at_the_backup() -> None:
    chain = escalation_chain(roster(), local(12, 10), SHANGHAI)
    assert [(s.role, [p.id for p in s.people]) for s in chain] == [
        ("primary", ["wang"]),
        ("supervisors", ["sun", "zhou"]),
    ]
