"""Roster gaps told to the supervisors ahead of time: the leader's check, run as often as it
likes, tells each gap once to every supervisor, again only when the roster moves it; a gap
happening now is told too, at once and as urgent as a crisis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import yaml
from sqlalchemy import select

from bot.clock import FixedClock
from bot.gap_alerts import gaps_to_tell
from bot.roster import Gap, RosterConfig
from bot.services import DUTIES, Services
from storage.models import OutboxItem, OutboxKind, OutboxStatus
from tests.conftest import make_config, make_secrets
from tests.fakes.staff_receiver import StaffReceiver
from tests.roster_fixture import ROSTER_YAML, SHANGHAI, local

FRIDAY_10 = local(13, 10)  # 22 h before the 1-hour gap on Saturday morning (08:00–09:00)
SATURDAY_MORNING_GAP = Gap(local(14, 8).astimezone(UTC), local(14, 9).astimezone(UTC))
WEEKEND_GAP = Gap(local(14, 21).astimezone(UTC), local(16, 8).astimezone(UTC))  # Sat 21 → Mon 8


def roster_with(**changes: object) -> dict:
    roster = yaml.safe_load(ROSTER_YAML)
    roster.update(changes)
    return roster


@asynccontextmanager
async def serving(db_url, model_dir, nlu, clock, receiver, roster: dict) -> AsyncIterator[Services]:  # type: ignore[no-untyped-def]
    config = make_config(
        db_url,
        model_dir,
        roster=roster,
        notifications={"routes": {"default": ["webhook"]}, "webhook": {"url": receiver.base_url}},
    )
    secrets = make_secrets(staff_webhook_secret="hook-" + "s" * 40)
    services = await Services.start(config, secrets, clock=clock, nlu=nlu, run_jobs=False)
    try:
        yield services
    finally:
        await services.close()


def told(receiver: StaffReceiver) -> list[tuple[str, str, str, str]]:
    notices = [json.loads(r.body) for r in receiver.received]
    return sorted(
        (n["recipient"]["id"], n["priority"], n["gap_start"], n["gap_end"])
        for n in notices
        if n["kind"] == "roster_gap"
    )


def to_supervisors(gap: Gap, priority: str) -> list[tuple[str, str, str, str]]:
    start, end = gap.start.isoformat(), gap.end.isoformat()
    return [("sun", priority, start, end), ("zhou", priority, start, end)]


def test_the_check_is_a_duty_of_the_leader_every_few_minutes() -> None:
    assert 60 <= DUTIES["roster_gaps"] <= 600


def test_gaps_coming_within_the_horizon_are_found_whole() -> None:
    roster = RosterConfig.model_validate(yaml.safe_load(ROSTER_YAML))
    assert gaps_to_tell(roster, local(9, 10), SHANGHAI) == [], "Monday: none within a day"
    assert gaps_to_tell(roster, FRIDAY_10, SHANGHAI) == [SATURDAY_MORNING_GAP]
    # Sunday noon, inside the weekend gap: found with its real start, not cut at "now".
    assert gaps_to_tell(roster, local(15, 12), SHANGHAI) == [WEEKEND_GAP]
    wider = RosterConfig.model_validate(roster_with(gap_alert_hours=48))
    assert gaps_to_tell(wider, FRIDAY_10, SHANGHAI) == [SATURDAY_MORNING_GAP, WEEKEND_GAP]


async def test_a_gap_ahead_is_told_once_to_every_supervisor_however_often_the_check_runs(
    db_url, model_dir, nlu
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(FRIDAY_10)
    async with (
        StaffReceiver() as receiver,
        serving(db_url, model_dir, nlu, clock, receiver, roster_with()) as services,
    ):
        for _ in range(3):
            await services.check_roster_gaps()
            await services.outbox.run_due()
            clock.advance(minutes=5)
        assert told(receiver) == to_supervisors(SATURDAY_MORNING_GAP, "P2")

        clock.at = local(13, 22)  # Friday 22:00: the weekend gap is within a day now
        await services.check_roster_gaps()
        await services.outbox.run_due()
        clock.at = local(15, 12)  # Sunday noon, inside it: not told again
        await services.check_roster_gaps()
        await services.outbox.run_due()
        assert told(receiver) == sorted(
            to_supervisors(SATURDAY_MORNING_GAP, "P2") + to_supervisors(WEEKEND_GAP, "P2")
        )


async def test_a_gap_happening_now_is_told_at_once_as_p1(db_url, model_dir, nlu) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(local(15, 12))  # Sunday noon: nobody on duty since Saturday 21:00
    async with (
        StaffReceiver() as receiver,
        serving(db_url, model_dir, nlu, clock, receiver, roster_with()) as services,
    ):
        await services.check_roster_gaps()
        await services.outbox.run_due()
        assert told(receiver) == to_supervisors(WEEKEND_GAP, "P1")


async def test_a_gap_the_roster_changed_is_told_again_and_the_old_one_not_at_all(
    db_url, model_dir, nlu
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(local(13, 23, 30))  # both weekend gaps below are within a day
    async with StaffReceiver() as receiver:
        async with serving(db_url, model_dir, nlu, clock, receiver, roster_with()) as services:
            await services.check_roster_gaps()  # enqueued; the service stops before sending
        shifts = roster_with()["shifts"] + [
            {"days": ["sat"], "start": "21:00", "end": "23:00", "primary": "li"}
        ]
        changed = roster_with(shifts=shifts)
        async with serving(db_url, model_dir, nlu, clock, receiver, changed) as services:
            await services.check_roster_gaps()
            await services.outbox.run_due()
            async with services.db.session() as session:
                rows = (
                    await session.scalars(
                        select(OutboxItem).where(OutboxItem.kind == OutboxKind.ROSTER_GAP)
                    )
                ).all()
        moved = Gap(local(14, 23).astimezone(UTC), WEEKEND_GAP.end)
        assert told(receiver) == sorted(
            to_supervisors(SATURDAY_MORNING_GAP, "P2") + to_supervisors(moved, "P2")
        )
        cancelled = [r for r in rows if r.status == OutboxStatus.CANCELLED]
        assert [r.result for r in cancelled] == ["the roster changed"] * 2


async def test_without_a_sender_nothing_is_enqueued(services: Services) -> None:
    services.clock.at = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    assert await services.staff_work.check_roster() == 0
