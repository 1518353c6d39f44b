"""Roster gaps told to the supervisors ahead of time (issue 16).

The scheduler leader looks regularly for stretches with nobody on duty that start within
``roster.gap_alert_hours`` or are happening now, and enqueues one notice per gap for every
supervisor. The row's key names the gap (its start and end) and the supervisor: however often
the check runs, a gap is told once, and told again only when a change of the roster moves it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.roster import Gap, RosterConfig, gaps
from storage import queries
from storage.models import OutboxKind

# How far either side of the horizon a gap is followed to its true start and end. The window's
# ends fall on local midnights, so a gap longer than this (cut by the window) changes its key,
# and is told again, at most once a day.
LOOK_AROUND = timedelta(days=7)

_PREFIX = "gap"


def gap_key(gap: Gap, supervisor_id: str) -> str:
    return f"{_PREFIX}:{int(gap.start.timestamp())}:{int(gap.end.timestamp())}:{supervisor_id}"


def gap_of(key: str) -> Gap:
    """The gap a row's key names (``gap_key``'s inverse)."""
    _, start, end, _ = key.split(":", 3)
    return Gap(datetime.fromtimestamp(int(start), UTC), datetime.fromtimestamp(int(end), UTC))


def gaps_to_tell(roster: RosterConfig, now: datetime, zone: ZoneInfo) -> list[Gap]:
    """Gaps happening now or starting within the horizon, whole (their real start and end)."""
    horizon = now + timedelta(hours=roster.gap_alert_hours)
    first = _local_midnight((now - LOOK_AROUND).astimezone(zone), zone)
    last = _local_midnight((horizon + LOOK_AROUND).astimezone(zone), zone) + timedelta(days=1)
    return [g for g in gaps(roster, first, last, zone) if g.end > now and g.start < horizon]


def still_a_gap(roster: RosterConfig, gap: Gap, zone: ZoneInfo) -> bool:
    """Is this stretch still wholly uncovered by the roster (it may have changed since)?"""
    return gaps(roster, gap.start, gap.end, zone) == [gap]


async def enqueue_gap_alerts(
    session: AsyncSession, roster: RosterConfig, now: datetime, zone: ZoneInfo
) -> int:
    """One row per gap to tell and supervisor, unless written before: how many are new."""
    added = 0
    for gap in gaps_to_tell(roster, now, zone):
        for supervisor in roster.supervisors:
            if await queries.enqueue(
                session,
                kind=OutboxKind.ROSTER_GAP,
                key=gap_key(gap, supervisor),
                due_at=now,
                now=now,
                recipient=supervisor,
            ):
                added += 1
    return added


def _local_midnight(moment: datetime, zone: ZoneInfo) -> datetime:
    return datetime.combine(moment.date(), time(0), zone)
