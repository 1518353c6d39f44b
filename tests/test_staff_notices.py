"""A crisis reaches a person: notices routed by the duty roster to local receivers standing in
for the SMS gateway and the staff webhook, climbing the chain while nobody takes the case."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import yaml
from sqlalchemy import select

from bot import escalation_report, escalations
from bot.clock import FixedClock
from bot.message import IdentityKind, InboundMessage
from bot.services import Services
from bot.staff_work import enqueue_taken_notices
from bot.web.ack_tokens import verify_ack_token
from storage import queries
from storage.models import Escalation, EscalationStatus, OutboxItem, OutboxKind, OutboxStatus
from tests.conftest import make_config, make_secrets
from tests.fakes.staff_receiver import StaffReceiver, closed_port_url
from tests.roster_fixture import ROSTER_YAML

MONDAY_10 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: li on duty, wang backs up
SUNDAY_10 = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)  # nobody on duty: a roster gap


def crisis(sender: str = "m") -> InboundMessage:
    return InboundMessage(
        channel="api",
        sender_id=sender,
        sender_kind=IdentityKind.API,
        text="我真的不想活了",
        sent_at=MONDAY_10,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[StaffReceiver]:
    async with StaffReceiver() as running:
        yield running


def notified(receiver: StaffReceiver) -> list[str]:
    """Who the staff webhook was told about, in order (its JSON names the recipient)."""
    return [json.loads(r.body)["recipient"]["id"] for r in receiver.received]


async def start(db_url, model_dir, nlu, clock, *, webhook: str, sms: str | None = None):  # type: ignore[no-untyped-def]
    notifications = {
        "public_base_url": "https://careline.example.org",
        "routes": {"default": ["webhook"]},
        "webhook": {"url": webhook},
    }
    if sms is not None:
        notifications["sms"] = {"url": sms}
        notifications["people"] = {"li": {"P1": ["webhook", "sms"]}}
    config = make_config(
        db_url,
        model_dir,
        roster=yaml.safe_load(ROSTER_YAML),
        notifications=notifications,
    )
    secrets = make_secrets(
        ack_secret="ack-" + "k" * 40,
        staff_webhook_secret="hook-" + "s" * 40,
        sms_gateway_secret="sms-" + "g" * 40,
    )
    services = await Services.start(config, secrets, clock=clock, nlu=nlu, run_jobs=False)
    return services, secrets


async def escalation(services: Services, escalation_id: int) -> Escalation:
    async with services.db.session() as session:
        return await session.get_one(Escalation, escalation_id)


async def test_a_p1_reaches_the_worker_on_duty_then_the_backup_then_the_supervisors(
    db_url, model_dir, nlu, receiver: StaffReceiver
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(MONDAY_10)
    services, secrets = await start(
        db_url, model_dir, nlu, clock, webhook=f"{receiver.base_url}/hook"
    )
    try:
        outcome = await services.pipeline.handle(crisis())
        escalation_id = outcome.escalation["id"]
        await services.outbox.run_due()
        assert notified(receiver) == ["li"]
        first = json.loads(receiver.received[0].body)
        claims = verify_ack_token(
            secrets.ack_secret, first["ack_url"].rsplit("/", 1)[1], now=clock.now()
        )
        assert (claims.escalation_id, claims.recipient_id) == (escalation_id, "li")
        assert "recent_messages" not in first, "her messages stay out of a generic webhook"
        assert (await escalation(services, escalation_id)).status == EscalationStatus.NOTIFIED

        clock.advance(minutes=5)
        await services.outbox.run_due()
        assert notified(receiver) == ["li", "wang"]
        clock.advance(minutes=5)
        await services.outbox.run_due()
        assert sorted(notified(receiver)[2:]) == ["sun", "zhou"]
        clock.advance(minutes=5)  # still nobody: the supervisors again, each SLA period
        await services.outbox.run_due()
        assert sorted(notified(receiver)[4:]) == ["sun", "zhou"]
        async with services.db.session() as session:
            attempts = await queries.attempts_for(session, escalation_id)
        assert [(a.recipient, a.sender, a.status) for a in attempts][:2] == [
            ("li", "webhook", "delivered"),
            ("wang", "webhook", "delivered"),
        ]
        shown = "\n".join(await escalation_report.show(services.config, services.db, escalation_id))
        assert "li · webhook · 已送达" in shown and "wang · webhook · 已送达" in shown
        assert "escalation.sla_missed" in shown and "督导" in shown
    finally:
        await services.close()


async def test_a_p1_in_a_roster_gap_goes_straight_to_the_supervisors(
    db_url, model_dir, nlu, receiver: StaffReceiver
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(SUNDAY_10)
    services, _ = await start(db_url, model_dir, nlu, clock, webhook=f"{receiver.base_url}/h")
    try:
        await services.pipeline.handle(crisis())
        await services.outbox.run_due()
        assert sorted(notified(receiver)) == ["sun", "zhou"]
    finally:
        await services.close()


async def test_a_receiver_that_is_down_falls_back_to_the_next_sender(
    db_url, model_dir, nlu, receiver: StaffReceiver
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(MONDAY_10)
    services, _ = await start(
        db_url, model_dir, nlu, clock, webhook=closed_port_url(), sms=f"{receiver.base_url}/sms"
    )
    try:
        outcome = await services.pipeline.handle(crisis())
        await services.outbox.run_due()
        (sms,) = receiver.received
        assert "不想活" not in sms.body.decode() and "13800000001" in sms.body.decode()
        async with services.db.session() as session:
            attempts = await queries.attempts_for(session, outcome.escalation["id"])
        assert [(a.sender, a.status) for a in attempts] == [
            ("webhook", "failed_retryable"),
            ("sms", "delivered"),
        ]
    finally:
        await services.close()


async def test_a_receiver_that_is_down_is_retried_with_backoff(
    db_url, model_dir, nlu, receiver: StaffReceiver
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(MONDAY_10)
    services, _ = await start(db_url, model_dir, nlu, clock, webhook=f"{receiver.base_url}/h")
    try:
        receiver.answer_next(503)
        outcome = await services.pipeline.handle(crisis())
        await services.outbox.run_due()
        assert await services.outbox.run_due() == 0, "not again before its backoff"
        clock.advance(seconds=2)
        await services.outbox.run_due()
        assert notified(receiver) == ["li", "li"]
        assert (
            await escalation(services, outcome.escalation["id"])
        ).status == EscalationStatus.NOTIFIED
    finally:
        await services.close()


async def test_after_an_acknowledgement_nothing_more_goes_out_on_any_channel(
    db_url, model_dir, nlu, receiver: StaffReceiver
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(MONDAY_10)
    services, _ = await start(db_url, model_dir, nlu, clock, webhook=f"{receiver.base_url}/h")
    try:
        receiver.answer_next(503)  # li's first try fails: a delivery row waits to retry
        outcome = await services.pipeline.handle(crisis())
        escalation_id = outcome.escalation["id"]
        await services.outbox.run_due()
        await escalations.acknowledge(services.db, escalation_id, by="li", at=clock.now())
        for _ in range(6):
            clock.advance(minutes=10)
            await services.outbox.run_due()
        clock.advance(days=120)  # months later: still nothing (grafana/oncall#3111)
        await services.outbox.run_due()
        pages = [k for k in kinds(receiver) if k[0] in ("new", "climbed")]
        assert pages == [("new", "li")], "only the failed first try ever left"
        assert ("follow_up", "li") in kinds(receiver), "her check-in goes to li, who took it"
        async with services.db.session() as session:
            pending = (
                await session.scalars(select(OutboxItem).where(OutboxItem.status == "pending"))
            ).all()
        assert [p.kind for p in pending if p.escalation_id == escalation_id] == []
    finally:
        await services.close()


def kinds(receiver: StaffReceiver) -> list[tuple[str, str]]:
    return [
        (json.loads(r.body)["kind"], json.loads(r.body)["recipient"]["id"])
        for r in receiver.received
    ]


async def test_a_check_in_reaches_the_worker_who_took_the_case_once(
    db_url, model_dir, nlu, receiver: StaffReceiver
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(MONDAY_10)
    services, _ = await start(db_url, model_dir, nlu, clock, webhook=f"{receiver.base_url}/h")
    try:
        outcome = await services.pipeline.handle(crisis())
        await services.outbox.run_due()
        await escalations.acknowledge(
            services.db, outcome.escalation["id"], by="wang", at=clock.now()
        )
        clock.advance(hours=25)  # Tuesday 11:00: li is on duty, but wang has her case
        await services.outbox.run_due()
        await services.outbox.run_due()
        assert kinds(receiver) == [("new", "li"), ("follow_up", "wang")]
        async with services.db.session() as session:
            follow_up = await queries.get_follow_up(session, outcome.follow_ups[0]["id"])
        assert follow_up.status == "done" and "王芳" in follow_up.outcome
    finally:
        await services.close()


async def test_resolving_cancels_the_taken_notices_not_yet_sent_and_nothing_pages_again(
    db_url, model_dir, nlu, receiver: StaffReceiver
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(MONDAY_10)
    services, _ = await start(db_url, model_dir, nlu, clock, webhook=f"{receiver.base_url}/h")
    try:
        outcome = await services.pipeline.handle(crisis())
        escalation_id = outcome.escalation["id"]
        await services.outbox.run_due()
        clock.advance(minutes=5)  # li did not answer: wang is told too
        await services.outbox.run_due()

        async def tell_the_others(session, taken) -> None:  # type: ignore[no-untyped-def]
            await enqueue_taken_notices(session, taken, taken_by="wang", now=clock.now())

        await escalations.acknowledge(
            services.db, escalation_id, by="wang", at=clock.now(), also=tell_the_others
        )
        await escalations.resolve(services.db, escalation_id, by="wang", at=clock.now())
        for _ in range(6):
            clock.advance(minutes=10)
            await services.outbox.run_due()
        clock.advance(days=120)  # grafana/oncall#3111: months later, still nothing
        await services.outbox.run_due()
        assert [k for k in kinds(receiver) if k[0] != "follow_up"] == [
            ("new", "li"),
            ("climbed", "wang"),
        ]
        async with services.db.session() as session:
            taken = (
                await session.scalars(
                    select(OutboxItem).where(
                        OutboxItem.escalation_id == escalation_id,
                        OutboxItem.kind == OutboxKind.STAFF_TAKEN,
                    )
                )
            ).all()
        assert [(t.recipient, t.status, t.result) for t in taken] == [
            ("li", OutboxStatus.CANCELLED, "resolved")
        ]
    finally:
        await services.close()


async def test_a_crisis_in_an_acknowledged_case_pages_its_worker_again_then_climbs(
    db_url, model_dir, nlu, receiver: StaffReceiver
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(MONDAY_10)
    services, _ = await start(db_url, model_dir, nlu, clock, webhook=f"{receiver.base_url}/h")
    try:
        asked = InboundMessage(
            channel="api",
            sender_id="m",
            sender_kind=IdentityKind.API,
            text="我想找社工聊聊",
            sent_at=MONDAY_10,
        )
        outcome = await services.pipeline.handle(asked)
        assert outcome.escalation["priority"] == "P2"
        await services.outbox.run_due()
        await escalations.acknowledge(
            services.db, outcome.escalation["id"], by="li", at=clock.now()
        )
        raised = await services.pipeline.handle(crisis())  # now a P1 of the case li has
        assert raised.escalation["id"] == outcome.escalation["id"]
        await services.outbox.run_due()
        assert [k for k in kinds(receiver) if k[0] == "new"] == [("new", "li"), ("new", "li")]
        for _ in range(6):  # li does not take it again: the chain climbs
            clock.advance(minutes=10)
            await services.outbox.run_due()
        climbed = {who for kind, who in kinds(receiver)[2:] if kind == "climbed"}
        assert {"wang", "sun", "zhou"} <= climbed
    finally:
        await services.close()


async def test_a_check_in_for_the_worker_goes_on_after_the_case_is_resolved(
    db_url, model_dir, nlu, receiver: StaffReceiver
) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(MONDAY_10)
    services, _ = await start(db_url, model_dir, nlu, clock, webhook=f"{receiver.base_url}/h")
    try:
        outcome = await services.pipeline.handle(crisis())
        escalation_id = outcome.escalation["id"]
        await services.outbox.run_due()
        await escalations.acknowledge(services.db, escalation_id, by="wang", at=clock.now())
        clock.advance(hours=25)  # her check-in falls due; wang's receiver is down this once
        receiver.answer_next(503)
        await services.outbox.run_due()
        await escalations.resolve(services.db, escalation_id, by="wang", at=clock.now())
        clock.advance(seconds=2)  # the delivery's first backoff
        await services.outbox.run_due()
        assert kinds(receiver) == [("new", "li"), ("follow_up", "wang"), ("follow_up", "wang")]
    finally:
        await services.close()
