"""Staff notices, SLA climbs and follow-ups as outbox rows, on a real database.

The service clock is a ``FixedClock``: a test moves time on, then asks the worker to run what
is due (``outbox.run_due``), exactly as the leader's poll does in production.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import escalations
from bot.clock import FixedClock
from bot.message import IdentityKind, InboundMessage
from bot.services import Services
from storage.models import (
    AuditEvent,
    Escalation,
    EscalationStatus,
    FollowUp,
    FollowUpStatus,
    OutboxItem,
    OutboxStatus,
)
from tests.conftest import START, make_config
from tests.fakes.notifier import RecordingNotifier


def crisis(sender: str = "m", external_id: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel="api",
        sender_id=sender,
        sender_kind=IdentityKind.API,
        text="我真的不想活了",
        sent_at=START,
        external_id=external_id,
    )


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def services(db_url, model_dir, nlu, secrets, clock, notifier):  # type: ignore[no-untyped-def]
    running = await Services.start(
        make_config(db_url, model_dir),
        secrets,
        clock=clock,
        nlu=nlu,
        notifier=notifier,
        run_jobs=False,
    )
    yield running
    await running.close()


async def get(services: Services, model: type, row_id: int):  # type: ignore[no-untyped-def]
    async with services.db.session() as session:
        return await session.get(model, row_id)


async def rows(services: Services, escalation_id: int) -> list[OutboxItem]:
    async with services.db.session() as session:
        found = await session.scalars(
            select(OutboxItem)
            .where(OutboxItem.escalation_id == escalation_id)
            .order_by(OutboxItem.id)
        )
        return list(found.all())


async def test_a_p1_notice_goes_out_once_and_marks_the_escalation_notified(
    services: Services, notifier: RecordingNotifier
) -> None:
    outcome = await services.pipeline.handle(crisis())
    assert notifier.escalations == [], "never inside her request"
    assert await services.outbox.run_due() == 1
    assert await services.outbox.run_due() == 0
    escalation_id = outcome.escalation["id"]
    assert notifier.escalations == [(escalation_id, "P1", 0)]
    assert (await get(services, Escalation, escalation_id)).status == EscalationStatus.NOTIFIED


async def test_unacknowledged_escalation_climbs_to_backup_then_supervisors(
    services: Services, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    outcome = await services.pipeline.handle(crisis())
    escalation_id = outcome.escalation["id"]
    await services.outbox.run_due()
    clock.advance(minutes=5)  # the P1 deadline passes unanswered
    await services.outbox.run_due()
    escalation = await get(services, Escalation, escalation_id)
    assert escalation.level == 1 and escalation.status == EscalationStatus.NOTIFIED
    assert escalation.sla_deadline == clock.now() + timedelta(minutes=5)
    clock.advance(minutes=5)
    await services.outbox.run_due()
    await services.outbox.run_due()  # nothing more is due: nothing changes
    assert (await get(services, Escalation, escalation_id)).level == 2
    assert notifier.escalations == [(escalation_id, "P1", level) for level in (0, 1, 2)]


async def test_an_acknowledged_escalation_never_pages_again(
    services: Services, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    outcome = await services.pipeline.handle(crisis())
    escalation_id = outcome.escalation["id"]
    # Taken before its first notice even went out: that notice is cancelled too.
    await escalations.acknowledge(services.db, escalation_id, by="worker-1", at=clock.now())
    for _ in range(3):
        clock.advance(minutes=10)
        await services.outbox.run_due()
    # A later crisis message of hers joins the acknowledged case without paging anyone.
    await services.pipeline.handle(crisis())
    clock.advance(days=90)
    await services.outbox.run_due()
    assert notifier.escalations == []
    escalation = await get(services, Escalation, escalation_id)
    assert escalation.level == 0 and escalation.status == EscalationStatus.ACKNOWLEDGED
    assert {r.status for r in await rows(services, escalation_id)} <= {
        OutboxStatus.CANCELLED,
        OutboxStatus.SENT,
    }


async def test_acknowledging_twice_or_after_resolving_is_refused(
    services: Services, clock: FixedClock
) -> None:
    outcome = await services.pipeline.handle(crisis())
    escalation_id = outcome.escalation["id"]
    await escalations.acknowledge(services.db, escalation_id, by="a", at=clock.now())
    with pytest.raises(escalations.NotAllowed):
        await escalations.acknowledge(services.db, escalation_id, by="b", at=clock.now())
    await escalations.resolve(services.db, escalation_id, by="a", at=clock.now())
    with pytest.raises(escalations.NotAllowed):
        await escalations.acknowledge(services.db, escalation_id, by="b", at=clock.now())


async def test_a_notifier_that_is_down_is_retried_with_backoff_then_delivers(
    services: Services, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    outcome = await services.pipeline.handle(crisis())
    escalation_id = outcome.escalation["id"]
    notifier.down = True
    await services.outbox.run_due()
    assert await services.outbox.run_due() == 0, "not tried again before its backoff"
    (notice,) = [r for r in await rows(services, escalation_id) if r.kind == "staff_notice"]
    assert notice.status == OutboxStatus.PENDING and notice.attempts == 1
    assert notice.result == "ConnectionError"
    notifier.down = False
    clock.advance(seconds=2)
    await services.outbox.run_due()
    assert notifier.escalations == [(escalation_id, "P1", 0)]


async def test_a_notice_that_never_gets_through_fails_and_is_audited(
    services: Services, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    outcome = await services.pipeline.handle(crisis())
    notifier.down = True
    for _ in range(10):
        await services.outbox.run_due()
        clock.advance(minutes=5)
    notices = [
        r for r in await rows(services, outcome.escalation["id"]) if r.kind == "staff_notice"
    ]
    # The chain climbed meanwhile (each level a notice of its own): the first, with every
    # backoff behind it, has given up; the later ones are still being tried.
    first = notices[0]
    assert first.status == OutboxStatus.FAILED and first.attempts == 7
    assert {r.status for r in notices[1:]} <= {OutboxStatus.FAILED, OutboxStatus.PENDING}
    async with services.db.session() as session:
        failed = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.failed"))
        ).all()
    assert {e.object_id for e in failed} == {r.id for r in notices if r.status == "failed"}


async def test_a_claim_left_by_a_dead_process_is_taken_after_its_lease(
    db_url, model_dir, nlu, secrets, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    config = make_config(db_url, model_dir)
    first = await Services.start(config, secrets, clock=clock, nlu=nlu, run_jobs=False)
    outcome = await first.pipeline.handle(crisis())
    # The first process claims the notice, then dies before sending it.
    from storage import queries

    async with first.db.write() as session:
        claimed = await queries.claim_due(
            session, owner="dead", now=clock.now(), until=clock.now() + timedelta(seconds=30)
        )
    assert [c.kind for c in claimed] == ["staff_notice"]
    await first.close()
    second = await Services.start(
        config, secrets, clock=clock, nlu=nlu, notifier=notifier, run_jobs=False
    )
    try:
        assert await second.outbox.run_due() == 0, "still someone else's"
        clock.advance(seconds=31)
        await second.outbox.run_due()
        assert notifier.escalations == [(outcome.escalation["id"], "P1", 0)]
    finally:
        await second.close()


async def test_follow_up_stored_before_a_restart_fires_once_after_it(
    db_url, model_dir, nlu, secrets, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    config = make_config(db_url, model_dir)
    first = await Services.start(config, secrets, clock=clock, nlu=nlu, run_jobs=False)
    outcome = await first.pipeline.handle(crisis())
    follow_up_id = outcome.follow_ups[0]["id"]
    await first.close()  # the service stops before the follow-up is due

    clock.advance(hours=25)
    for _ in range(2):  # two restarts, each running what is due
        again = await Services.start(
            config, secrets, clock=clock, nlu=nlu, notifier=notifier, run_jobs=False
        )
        try:
            await again.outbox.run_due()
        finally:
            await again.close()
    assert notifier.follow_ups == [follow_up_id]
    async with again.db.session() as session:
        fired = await session.get(FollowUp, follow_up_id)
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "follow_up.fired"))
        ).all()
    assert fired.status == FollowUpStatus.DONE and fired.attempts == 1
    assert [e.object_id for e in events] == [follow_up_id]


async def test_two_workers_racing_fire_a_follow_up_once(
    db_url, model_dir, nlu, secrets, clock: FixedClock, notifier: RecordingNotifier
) -> None:
    config = make_config(db_url, model_dir)
    replicas = [
        await Services.start(
            config, secrets, clock=clock, nlu=nlu, notifier=notifier, run_jobs=False
        )
        for _ in range(2)
    ]
    try:
        outcome = await replicas[0].pipeline.handle(crisis())
        clock.advance(hours=25)
        await asyncio.gather(*(r.outbox.run_due() for r in replicas for _ in range(2)))
    finally:
        for replica in replicas:
            await replica.close()
    assert notifier.follow_ups == [outcome.follow_ups[0]["id"]]
    escalation_id = outcome.escalation["id"]
    # The notice, then the climb to the backup (the next deadline is still ahead): each once.
    assert notifier.escalations == [(escalation_id, "P1", 0), (escalation_id, "P1", 1)]
