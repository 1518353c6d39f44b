from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from bot.roster import RosterConfig
from bot.roster.report import describe_roster
from tests.roster_fixture import ROSTER_YAML, SHANGHAI, local, roster

ROOT = Path(__file__).resolve().parents[1]


def test_report_names_who_is_on_duty_now_and_the_supervisors() -> None:
    lines = describe_roster(roster(), local(10, 9), SHANGHAI)
    assert lines[1] == "现在 03月10日 周二 09:00：值班 李梅，备班 王芳"
    assert lines[2] == "督导：孙敏、周丽"


def test_report_lists_the_next_seven_days_and_every_gap() -> None:
    lines = describe_roster(roster(), local(9, 0), SHANGHAI)
    gaps_at = lines.index("空档（无人值班，求助会直接通知督导）：")
    assert lines[gaps_at + 1 :] == [
        "  03月09日 周一 00:00 – 03月09日 周一 08:00",
        "  03月14日 周六 08:00 – 03月14日 周六 09:00",
        "  03月14日 周六 21:00 – 03月16日 周一 00:00",
    ]
    assert "  03月11日 周三 12:00 – 03月11日 周三 16:00  值班 赵静，备班 无（临时调班）" in lines
    standing_in = "值班 王芳（顶替休假的 李梅），备班 无"
    assert f"  03月12日 周四 08:00 – 03月12日 周四 20:00  {standing_in}" in lines


def test_an_empty_roster_says_everything_is_a_gap() -> None:
    lines = describe_roster(RosterConfig(), local(9, 0), SHANGHAI, days=1)
    assert any("还没有排班" in line for line in lines)
    assert "未设置" in lines[3]
    assert lines[-1] == "  03月09日 周一 00:00 – 03月10日 周二 00:00"


def test_careline_roster_command_prints_the_report(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        yaml.safe_dump({"roster": yaml.safe_load(ROSTER_YAML)}, allow_unicode=True),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "roster"]
        + ["--at", "2026-03-15T03:00", "--days", "1"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "现在 03月15日 周日 03:00：无人值班" in result.stdout
    # Sunday has no shift and Monday's starts at 08:00: the whole day ahead is one gap.
    assert result.stdout.rstrip().endswith(
        "空档（无人值班，求助会直接通知督导）：\n  03月15日 周日 03:00 – 03月16日 周一 03:00"
    )


def test_careline_roster_refuses_a_bad_moment(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text("{}", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(tmp_path / "config.yml")]
        + ["roster", "--at", "yesterday"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--at: not an ISO 8601 time" in result.stderr
