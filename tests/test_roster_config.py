from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
import yaml

from bot.config import ConfigError, load_config, parse_config
from tests.roster_fixture import ROSTER_YAML, roster

ROOT = Path(__file__).resolve().parents[1]


def roster_with(**changes: object) -> dict[str, object]:
    data = yaml.safe_load(ROSTER_YAML)
    data.update(changes)
    return {"roster": data}


def test_no_roster_section_is_an_empty_roster() -> None:
    assert parse_config({}).roster.workers == []


def test_unquoted_yaml_times_read_as_wall_clock_times() -> None:
    shifts = roster().shifts
    assert (shifts[1].start, shifts[1].end) == (time(20, 0), time(8, 0))


def test_the_shipped_example_roster_is_valid_and_obviously_fictional() -> None:
    config = load_config(ROOT / "config.yml")
    assert config.roster.workers and config.roster.supervisors
    for worker in config.roster.workers:
        assert "示例" in worker.name
        assert worker.phone is None or worker.phone.startswith("1380000")
        assert worker.email is None or worker.email.endswith("@example.org")


def test_a_shift_naming_an_unknown_worker_is_one_line_naming_it() -> None:
    shifts = [{"days": ["mon"], "start": "08:00", "end": "20:00", "primary": "nobody"}]
    with pytest.raises(ConfigError) as caught:
        parse_config(roster_with(shifts=shifts))
    assert "roster: shifts[0].primary: no worker 'nobody'" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_supervisor_must_be_a_worker() -> None:
    with pytest.raises(ConfigError, match="supervisors: no worker 'ghost'"):
        parse_config(roster_with(supervisors=["ghost"]))


def test_a_worker_id_listed_twice_is_refused() -> None:
    workers = [{"id": "li", "name": "甲"}, {"id": "li", "name": "乙"}]
    with pytest.raises(ConfigError, match="worker id listed twice: li"):
        parse_config({"roster": {"workers": workers}})


def test_backup_cannot_be_the_primary() -> None:
    shifts = [{"days": ["mon"], "start": "08:00", "end": "20:00", "primary": "li", "backup": "li"}]
    with pytest.raises(ConfigError, match=r"shifts\[0\]: backup is the primary"):
        parse_config(roster_with(shifts=shifts))


def test_leave_must_end_after_it_starts() -> None:
    leave = [{"worker": "li", "first_day": "2026-03-12", "last_day": "2026-03-10"}]
    with pytest.raises(ConfigError, match="last_day is before first_day"):
        parse_config(roster_with(leave=leave))


@pytest.mark.parametrize("day", ["monday", "Mon", "7"])
def test_weekdays_are_three_letter_english(day: str) -> None:
    shifts = [{"days": [day], "start": "08:00", "end": "20:00", "primary": "li"}]
    with pytest.raises(ConfigError, match=r"roster.shifts.0.days.0"):
        parse_config(roster_with(shifts=shifts))


def test_a_bad_phone_is_refused() -> None:
    with pytest.raises(ConfigError, match="roster.workers.0.phone"):
        parse_config({"roster": {"workers": [{"id": "a", "name": "甲", "phone": "call me"}]}})
