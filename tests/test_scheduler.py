"""Follow-ups and SLA checks through APScheduler and its real job store, across restarts.

The service clock is set a day behind the wall clock the scheduler runs on, so a follow-up
"due in 24 hours" is already due for the scheduler: it fires as soon as a running scheduler
looks, and the tests wait for APScheduler's own job-finished event, never for time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.message import InboundMessage
from bot.scheduler import Scheduler, follow_up_job_id, sla_job_id
from bot.services import Services
from storage.models import (
    AuditEvent,
    Escalation,
    EscalationStatus,
    FollowUp,
    FollowUpStatus,
    IdentityKind,
)
from tests.conftest import make_config


@pytest.fixture
def past_clock() -> FixedClock:
    return FixedClock(datetime.now(UTC) - timedelta(hours=25))


def crisis(sender: str = "m") -> InboundMessage:
    return InboundMessage(
        channel="api",
        sender_id=sender,
        sender_kind=IdentityKind.API,
        text="我真的不想活了",
        sent_at=datetime.now(UTC),
    )


async def start(db_url, model_dir, nlu, secrets, clock, *, run_jobs: bool) -> Services:
    return await Services.start(
        make_config(db_url, model_dir), secrets, clock=clock, nlu=nlu, run_jobs=run_jobs
    )


def finished_jobs(services: Services) -> asyncio.Queue[str]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    services.scheduler.on_job_finished(
        lambda job_id: loop.call_soon_threadsafe(queue.put_nowait, job_id)
    )
    return queue


async def wait_for_job(queue: asyncio.Queue[str], job_id: str) -> None:
    async with asyncio.timeout(20):
        while await queue.get() != job_id:
            pass


async def follow_up(services: Services, follow_up_id: int) -> FollowUp:
    async with services.db.session() as session:
        return await session.get(FollowUp, follow_up_id)


async def test_follow_up_scheduled_before_a_restart_fires_once_after_it(
    db_url, model_dir, nlu, secrets, past_clock: FixedClock
) -> None:
    first = await start(db_url, model_dir, nlu, secrets, past_clock, run_jobs=False)
    outcome = await first.pipeline.handle(crisis())
    follow_up_id = outcome.follow_ups[0]["id"]
    job_id = follow_up_job_id(follow_up_id)
    assert first.scheduler.has_job(job_id)
    await first.close()  # the service stops before the follow-up is due

    second = await start(db_url, model_dir, nlu, secrets, past_clock, run_jobs=False)
    assert second.scheduler.has_job(job_id), "the job survived the restart in the store"
    await second.close()

    third = Services.start(make_config(db_url, model_dir), secrets, clock=past_clock, nlu=nlu)
    third = await third
    try:
        jobs = finished_jobs(third)
        # The listener is in place before the look, so a job already running is still seen.
        if (await follow_up(third, follow_up_id)).status != FollowUpStatus.DONE:
            await wait_for_job(jobs, job_id)
        fired = await follow_up(third, follow_up_id)
        assert fired.status == FollowUpStatus.DONE and fired.attempts == 1
        assert not third.scheduler.has_job(job_id)
    finally:
        await third.close()

    fourth = await start(db_url, model_dir, nlu, secrets, past_clock, run_jobs=True)
    try:
        assert (await follow_up(fourth, follow_up_id)).attempts == 1, "never fired twice"
        async with fourth.db.session() as session:
            fired_events = (
                await session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "follow_up.fired")
                )
            ).all()
        assert [e.object_id for e in fired_events] == [follow_up_id]
    finally:
        await fourth.close()


async def test_follow_up_committed_without_its_job_is_rescheduled_on_start(
    db_url, model_dir, nlu, secrets, past_clock: FixedClock
) -> None:
    first = await start(db_url, model_dir, nlu, secrets, past_clock, run_jobs=False)
    outcome = await first.pipeline.handle(crisis())
    follow_up_id = outcome.follow_ups[0]["id"]
    # What a stop between the commit and the scheduling leaves: the row, but no job.
    first.scheduler.remove_job(follow_up_job_id(follow_up_id))
    await first.close()

    second = await start(db_url, model_dir, nlu, secrets, past_clock, run_jobs=True)
    try:
        jobs = finished_jobs(second)
        if (await follow_up(second, follow_up_id)).status != FollowUpStatus.DONE:
            await wait_for_job(jobs, follow_up_job_id(follow_up_id))
        assert (await follow_up(second, follow_up_id)).status == FollowUpStatus.DONE
    finally:
        await second.close()


async def test_firing_twice_delivers_once(services: Services) -> None:
    outcome = await services.pipeline.handle(crisis())
    follow_up_id = outcome.follow_ups[0]["id"]
    await asyncio.gather(*(services.fire_follow_up(follow_up_id) for _ in range(3)))
    fired = await follow_up(services, follow_up_id)
    assert fired.status == FollowUpStatus.DONE and fired.attempts == 1


async def test_unacknowledged_escalation_climbs_to_backup_then_supervisors(
    services: Services, clock: FixedClock
) -> None:
    outcome = await services.pipeline.handle(crisis())
    escalation_id = outcome.escalation["id"]
    assert services.scheduler.has_job(sla_job_id(escalation_id, 0))
    clock.advance(minutes=6)
    await services.check_escalation_sla(escalation_id, 0)
    async with services.db.session() as session:
        escalation = await session.get(Escalation, escalation_id)
    assert escalation.level == 1 and escalation.status == EscalationStatus.NOTIFIED
    assert escalation.sla_deadline == clock.now() + timedelta(minutes=5)
    assert services.scheduler.has_job(sla_job_id(escalation_id, 1))
    clock.advance(minutes=6)
    await services.check_escalation_sla(escalation_id, 1)
    await services.check_escalation_sla(escalation_id, 1)  # a repeated run changes nothing
    async with services.db.session() as session:
        escalation = await session.get(Escalation, escalation_id)
    assert escalation.level == 2


async def test_acknowledged_escalation_does_not_climb(
    services: Services, clock: FixedClock
) -> None:
    outcome = await services.pipeline.handle(crisis())
    escalation_id = outcome.escalation["id"]
    async with services.db.session() as session, session.begin():
        escalation = await session.get(Escalation, escalation_id)
        escalation.status = EscalationStatus.ACKNOWLEDGED
    clock.advance(minutes=6)
    await services.check_escalation_sla(escalation_id, 0)
    async with services.db.session() as session:
        escalation = await session.get(Escalation, escalation_id)
    assert escalation.level == 0 and escalation.status == EscalationStatus.ACKNOWLEDGED


async def test_scheduling_a_job_again_replaces_it(db_url) -> None:  # type: ignore[no-untyped-def]
    scheduler = Scheduler(db_url)
    scheduler.start(paused=True)
    try:
        due = datetime.now(UTC) + timedelta(hours=1)
        scheduler.schedule_follow_up(7, due)
        scheduler.schedule_follow_up(7, due + timedelta(hours=1))
        scheduler.schedule_sla_check(3, 0, due)
        assert sorted(scheduler.job_ids()) == sorted([follow_up_job_id(7), sla_job_id(3, 0)])
    finally:
        scheduler.shutdown()
