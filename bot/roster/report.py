"""What ``careline roster`` prints: who is on duty now, the next days, and the gaps."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.roster import texts
from bot.roster.config import RosterConfig
from bot.roster.duty import Duty, gaps, on_duty, supervisors, timeline

__all__ = ["describe_roster"]


def describe_roster(
    roster: RosterConfig, now: datetime, zone: ZoneInfo, *, days: int = 7
) -> list[str]:
    lines = [texts.TITLE.format(zone=zone.key)]
    if not roster.workers or not (roster.shifts or roster.overrides):
        lines.append(texts.EMPTY)
    lines.append(texts.NOW.format(when=_when(now, zone)) + _who(on_duty(roster, now, zone)))
    people = supervisors(roster)
    if people:
        lines.append(texts.SUPERVISORS.format(names=texts.SEPARATOR.join(p.name for p in people)))
    else:
        lines.append(texts.NO_SUPERVISORS)
    end = now + timedelta(days=days)
    lines.append(texts.NEXT_DAYS.format(days=days))
    for span in timeline(roster, now, end, zone):
        lines.append(
            texts.SPAN.format(
                start=_when(span.start, zone), end=_when(span.end, zone), who=_who(span.duty)
            )
        )
    holes = gaps(roster, now, end, zone)
    if holes:
        lines.append(texts.GAPS)
        lines.extend(
            texts.GAP_LINE.format(start=_when(g.start, zone), end=_when(g.end, zone)) for g in holes
        )
    else:
        lines.append(texts.NO_GAPS.format(days=days))
    return lines


def _who(duty: Duty) -> str:
    if duty.primary is None:
        return texts.GAP
    primary = duty.primary.name
    if duty.on_leave is not None:
        primary = texts.STANDING_IN.format(backup=primary, primary=duty.on_leave.name)
    backup = duty.backup.name if duty.backup else texts.NO_BACKUP
    who = texts.ON_DUTY.format(primary=primary, backup=backup)
    return who + (texts.OVERRIDE if duty.source == "override" else "")


def _when(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%m月%d日} {texts.WEEKDAY_NAMES[local.weekday()]} {local:%H:%M}"
