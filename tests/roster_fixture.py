"""One fictional team's roster, shared by the roster and notifier tests (all people invented)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import yaml

from bot.roster import RosterConfig

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Unquoted times on purpose: YAML 1.1 reads 20:00 as an integer, the schema takes it back.
ROSTER_YAML = """
workers:
  - {id: li, name: 李梅, phone: "13800000001", wecom_userid: LiMei, email: li@example.org}
  - {id: wang, name: 王芳, phone: "13800000002", wecom_userid: WangFang, email: wang@example.org}
  - {id: zhao, name: 赵静, phone: "13800000003", email: zhao@example.org}
  - {id: sun, name: 孙敏, phone: "13800000004", wecom_userid: SunMin}
  - {id: zhou, name: 周丽, email: zhou@example.org}
shifts:
  - {days: [mon, tue, wed, thu, fri], start: 08:00, end: 20:00, primary: li, backup: wang}
  - {days: [mon, tue, wed, thu, fri], start: 20:00, end: 08:00, primary: wang, backup: zhao}
  - {days: [sat], start: 09:00, end: 21:00, primary: zhao, backup: li}
overrides:
  - {date: 2026-03-11, start: "12:00", end: "16:00", primary: zhao}
leave:
  - {worker: li, first_day: 2026-03-12, last_day: 2026-03-12}
supervisors: [sun, zhou]
"""


def roster() -> RosterConfig:
    return RosterConfig.model_validate(yaml.safe_load(ROSTER_YAML))


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026, Shanghai time (the 9th is a Monday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)
