"""One message through the whole pipeline, on a real database, with the real NLU."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot import escalations
from bot.clock import FixedClock
from bot.message import IdentityKind, InboundMessage
from bot.pipeline import CLASSIFIER_FAILED
from bot.services import Services
from intents import ParseResult
from storage import queries
from storage.models import (
    Classification,
    Contact,
    Escalation,
    EscalationStatus,
    FollowUp,
    Message,
    MessageStatus,
    OutboxItem,
)
from tests.conftest import make_config
from tests.refusing_db import refuse_decisions
from tests.statements import statement_log

CRISIS = "我真的不想活了"


def inbound(
    text: str,
    *,
    sender: str = "mother-1",
    external_id: str | None = None,
    at: datetime | None = None,
) -> InboundMessage:
    from tests.conftest import START

    return InboundMessage(
        channel="api",
        sender_id=sender,
        sender_kind=IdentityKind.API,
        text=text,
        sent_at=at or START,
        external_id=external_id,
    )


async def count(services: Services, model: type) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def test_crisis_message_escalates_p1_and_schedules_a_check_in(
    services: Services, clock: FixedClock
) -> None:
    outcome = await services.pipeline.handle(inbound(CRISIS))
    assert outcome.classification.intent == "crisis_suicide"
    assert outcome.classification.risk.crisis
    assert outcome.escalation["priority"] == "P1"
    # Decided and stored; the staff are told by the outbox, never inside her request.
    assert outcome.escalation["status"] == EscalationStatus.OPEN
    deadline = datetime.fromisoformat(outcome.escalation["sla_deadline"])
    assert deadline == clock.now() + timedelta(minutes=5)
    assert [f["kind"] for f in outcome.follow_ups] == ["check_in"]
    assert outcome.contact["service_type"] == "陪伴式"
    assert outcome.reply.sensitive
    assert "12356" in outcome.reply.text
    async with services.db.session() as session:
        queued = (await session.scalars(select(OutboxItem.kind))).all()
    assert sorted(queued) == ["follow_up", "sla_check", "staff_notice"]
    await services.outbox.run_due()  # the notice is due now; the SLA check and check-in later
    async with services.db.session() as session:
        escalation = await queries.get_escalation(session, outcome.escalation["id"])
    assert escalation.status == EscalationStatus.NOTIFIED


async def test_thanks_neither_escalates_nor_schedules(services: Services) -> None:
    outcome = await services.pipeline.handle(inbound("谢谢"))
    assert outcome.classification.intent == "thanks"
    assert outcome.escalation is None and outcome.follow_ups == ()
    assert outcome.contact is None
    assert outcome.reply is not None and not outcome.reply.sensitive
    assert await count(services, Escalation) == 0


async def test_every_message_and_its_reply_are_stored(services: Services) -> None:
    outcome = await services.pipeline.handle(inbound("谢谢"))
    async with services.db.session() as session:
        message = await queries.get_message(session, outcome.message_id)
        reply = await queries.reply_to(session, outcome.message_id)
        stored = await queries.classification_of(session, outcome.message_id)
    assert message.status == MessageStatus.HANDLED and message.text == "谢谢"
    assert reply.text == outcome.reply.text
    assert stored.intent == "thanks"


async def test_retry_of_same_external_id_creates_no_second_contact_or_escalation(
    services: Services,
) -> None:
    first = await services.pipeline.handle(inbound(CRISIS, external_id="msg-42"))
    again = await services.pipeline.handle(inbound(CRISIS, external_id="msg-42"))
    assert again.duplicate and not first.duplicate
    assert again.message_id == first.message_id
    assert again.reply == first.reply
    assert again.escalation["id"] == first.escalation["id"]
    for model in (Message, Contact, Escalation, FollowUp, Classification):
        expected = 2 if model is Message else 1  # the inbound and its one reply
        assert await count(services, model) == expected, model.__name__


async def test_concurrent_deliveries_of_one_message_are_handled_once(services: Services) -> None:
    outcomes = await asyncio.gather(
        *(services.pipeline.handle(inbound(CRISIS, external_id="dup")) for _ in range(3))
    )
    assert sorted(o.duplicate for o in outcomes) == [False, True, True]
    assert len({o.reply.text for o in outcomes}) == 1
    assert await count(services, Escalation) == 1
    assert await count(services, Contact) == 1


async def test_second_crisis_message_joins_the_open_escalation(
    services: Services, clock: FixedClock
) -> None:
    await services.pipeline.handle(inbound(CRISIS))
    clock.advance(minutes=2)
    await services.pipeline.handle(inbound("我已经想好了怎么死"))
    assert await count(services, Escalation) == 1
    assert await count(services, Contact) == 1
    async with services.db.session() as session:
        contact = await session.scalar(select(Contact))
    assert contact.message_count == 2


async def test_contact_after_the_gap_is_a_new_contact(
    services: Services, clock: FixedClock
) -> None:
    await services.pipeline.handle(inbound("最近好难过 天天哭"))
    clock.advance(minutes=services.config.policy.contact_gap_minutes + 1)
    await services.pipeline.handle(inbound("还是很难过"))
    assert await count(services, Contact) == 2


async def test_different_mothers_are_different_people(services: Services) -> None:
    a = await services.pipeline.handle(inbound("你好", sender="a"))
    b = await services.pipeline.handle(inbound("你好", sender="b"))
    again = await services.pipeline.handle(inbound("你好", sender="a"))
    assert a.person != b.person and a.person == again.person


class BrokenNLU:
    """A classifier backend that is down (it raises on every call)."""

    model_version = "broken"

    async def parse(
        self, text: str, *, history: Sequence[str] = (), now: datetime | None = None
    ) -> ParseResult:
        raise ConnectionError("classifier down")

    async def close(self) -> None:
        return None


async def test_classifier_failure_escalates_instead_of_dropping(
    db_url, model_dir, secrets, clock: FixedClock
) -> None:
    services = await Services.start(
        make_config(db_url, model_dir), secrets, clock=clock, nlu=BrokenNLU(), run_jobs=False
    )
    try:
        outcome = await services.pipeline.handle(inbound("随便说点什么"))
    finally:
        await services.close()
    assert outcome.escalation["priority"] == "P2"
    assert outcome.classification.risk.crisis
    assert outcome.reply is not None


async def test_message_stored_but_unhandled_is_handled_after_restart(
    db_url, model_dir, nlu, secrets, clock: FixedClock
) -> None:
    config = make_config(db_url, model_dir)
    first = await Services.start(config, secrets, clock=clock, nlu=nlu, run_jobs=False)
    # What a crash between storing and handling leaves behind: a received, unhandled message.
    async with first.db.session() as session, session.begin():
        person = await queries.find_or_create_person(
            session, first.pipeline.cipher, IdentityKind.API, "crashed"
        )
        stored = await queries.insert_inbound(
            session,
            Message(
                person_id=person.id,
                channel="api",
                external_id="c-1",
                direction="in",
                status=MessageStatus.RECEIVED,
                text=CRISIS,
            ),
        )
        message_id = stored.id
    await first.close()

    second = await Services.start(config, secrets, clock=clock, nlu=nlu)
    try:
        async with second.db.session() as session:
            message = await queries.get_message(session, message_id)
            escalation = await queries.escalation_of(session, message)
        assert message.status == MessageStatus.HANDLED
        assert escalation.priority == "P1" and escalation.message_id == message_id
        retry = await second.pipeline.handle(inbound(CRISIS, sender="crashed", external_id="c-1"))
        assert retry.duplicate and retry.escalation["id"] == escalation.id
    finally:
        await second.close()


def group_message(text: str, external_id: str) -> InboundMessage:
    from tests.conftest import START

    return InboundMessage(
        channel="care_group",
        sender_id="member-7",
        sender_kind=IdentityKind.GROUP_MEMBER,
        text=text,
        sent_at=START,
        external_id=external_id,
        conversation_id="group-1",
        addressed=False,
    )


async def test_group_chatter_not_addressed_gets_no_service_and_no_reply(
    services: Services,
) -> None:
    outcome = await services.pipeline.handle(group_message("周末有人一起去公园吗", "g-1"))
    assert outcome.reply is None and outcome.contact is None and outcome.escalation is None
    assert outcome.classification is not None  # classified all the same


async def test_crisis_in_group_chatter_escalates_with_a_private_reply(services: Services) -> None:
    outcome = await services.pipeline.handle(group_message("我真的不想活了", "g-2"))
    assert outcome.escalation["priority"] == "P1"
    assert outcome.reply.sensitive  # the channel must not post it in the group


async def test_a_message_joining_an_open_escalation_gets_a_private_reply(
    services: Services,
) -> None:
    await services.pipeline.handle(inbound(CRISIS, sender="j"))
    joined = await services.pipeline.handle(inbound("我想找社工聊聊", sender="j"))
    assert joined.escalation is not None and joined.reply.sensitive
    replayed = await services.pipeline.replay(joined.message_id)  # a retry after a restart
    assert replayed.reply.sensitive and replayed.escalation == joined.escalation


async def test_submit_returns_once_stored_before_the_outcome(services: Services) -> None:
    pending = await services.pipeline.submit(inbound("最近好难过", external_id="s-1"))
    async with services.db.session() as session:
        stored = await queries.find_message(session, "api", "s-1")
    assert stored is not None  # acknowledged only after this point
    outcome = await pending
    assert outcome.message_id == stored.id and not outcome.duplicate


async def test_a_message_is_stored_and_decided_in_one_write_transaction(
    services: Services,
) -> None:
    await services.pipeline.handle(inbound("你好", sender="known"))  # she is known, with a case
    with statement_log() as log:
        pending = await services.pipeline.submit(inbound(CRISIS, sender="known", external_id="o-1"))
    assert log.write_transactions == 1
    # The history read, then one transaction: her row, the message, her case (escalation,
    # contacts, check-in) and the decision's rows. Whatever is added here must be worth it.
    assert len(log.statements) <= 16, " ".join(log.kinds())
    async with services.db.session() as session:
        message = await queries.find_message(session, "api", "o-1")
    # Stored when submit returned (the channel acknowledges then), and decided with it.
    assert message.status == MessageStatus.HANDLED and message.claimed_until is None
    outcome = await pending
    assert outcome.escalation["priority"] == "P1" and outcome.follow_ups
    assert message.escalation_id == outcome.escalation["id"]


async def test_a_first_message_reads_no_case_and_an_ordinary_one_costs_few_statements(
    services: Services,
) -> None:
    with statement_log() as log:
        await services.pipeline.handle(inbound("谢谢", sender="new-here"))
    assert log.write_transactions == 1
    # History read; begin; look her up, add her, her identity and the message; the
    # classification, the message's update and the reply.
    assert len(log.statements) <= 9, " ".join(log.kinds())


async def test_classifier_failure_is_stored_escalated_and_decided_in_one_transaction(
    db_url, model_dir, secrets, clock: FixedClock
) -> None:
    services = await Services.start(
        make_config(db_url, model_dir), secrets, clock=clock, nlu=BrokenNLU(), run_jobs=False
    )
    try:
        with statement_log() as log:
            outcome = await services.pipeline.handle(inbound("随便说点什么", external_id="b-1"))
        async with services.db.session() as session:
            message = await queries.find_message(session, "api", "b-1")
            stored = await queries.classification_of(session, message.id)
    finally:
        await services.close()
    assert log.write_transactions == 1
    assert message.status == MessageStatus.HANDLED
    assert outcome.escalation["priority"] == "P2"
    assert stored.model_version == "unavailable" and CLASSIFIER_FAILED in stored.risk_reasons


async def test_a_decision_that_cannot_be_written_leaves_the_message_stored_for_the_sweep(
    services: Services, clock: FixedClock
) -> None:
    await refuse_decisions(services.db)
    pending = await services.pipeline.submit(inbound(CRISIS, external_id="w-1"))
    async with services.db.session() as session:
        stored = await queries.find_message(session, "api", "w-1")
    assert stored is not None and stored.status == MessageStatus.RECEIVED, "stored alone"
    try:
        await pending
    except Exception:
        pass  # handling it again right away met the same refusal
    else:
        raise AssertionError("the decision should not have been written")
    assert await count(services, Escalation) == 0
    await refuse_decisions(services.db, refuse=False)
    assert await services.pipeline.handle_stale() == 0, "still leased to this process"
    clock.advance(seconds=31)
    assert await services.pipeline.handle_stale() == 1
    async with services.db.session() as session:
        message = await queries.get_message(session, stored.id)
        escalation = await queries.escalation_of(session, message)
    assert message.status == MessageStatus.HANDLED and escalation.priority == "P1"


async def test_a_retry_after_a_failed_delivery_gets_an_answer_not_the_failure(
    services: Services,
) -> None:
    on_committed = services.pipeline.on_committed

    def fails_once() -> None:
        services.pipeline.on_committed = on_committed
        raise ConnectionError("worker gone")

    services.pipeline.on_committed = fails_once
    try:
        await services.pipeline.handle(inbound(CRISIS, external_id="f-1"))
    except ConnectionError:
        pass
    else:
        raise AssertionError("the first delivery should have failed")
    retry = await services.pipeline.handle(inbound(CRISIS, external_id="f-1"))
    assert retry.duplicate and retry.escalation is not None
    assert await count(services, Escalation) == 1


async def test_a_retry_replayed_from_the_database_gets_the_first_outcome(
    services: Services,
) -> None:
    # What a retry after a restart (nothing remembered) reads back: the stored rows.
    first = await services.pipeline.handle(inbound(CRISIS, external_id="r-1"))
    replayed = await services.pipeline.replay(first.message_id)
    assert replayed.duplicate and replayed.message_id == first.message_id
    assert replayed.reply == first.reply and first.reply.sensitive
    assert replayed.contact == first.contact and first.contact is not None
    assert replayed.classification == first.classification
    assert replayed.escalation["id"] == first.escalation["id"]
    assert replayed.follow_ups == first.follow_ups
    async with services.db.session() as session:
        reply = await queries.reply_to(session, first.message_id)
    assert reply.contact_id == first.contact["id"] and reply.status == MessageStatus.SENT


async def test_her_earlier_messages_are_weighed_but_a_first_message_has_none(
    services: Services,
) -> None:
    await services.pipeline.handle(inbound("我好累", sender="h"))
    await services.pipeline.handle(inbound("每天都睡不着", sender="h"))
    later = await services.pipeline.handle(inbound("不想再撑了", sender="h"))
    first = await services.pipeline.handle(inbound("不想再撑了", sender="someone-new"))
    assert any("近期消息" in reason for reason in later.classification.risk.reasons)
    assert not any("近期消息" in reason for reason in first.classification.risk.reasons)


# --- leases: a message is handled by one process, and never left unhandled -----------------


async def store_claimed(services: Services, external_id: str, *, by: str, until) -> int:  # type: ignore[no-untyped-def]
    async with services.db.write() as session:
        person = await queries.find_or_create_person(
            session, services.pipeline.cipher, IdentityKind.API, "leased"
        )
        stored = await queries.insert_inbound(
            session,
            Message(
                person_id=person.id,
                channel="api",
                external_id=external_id,
                direction="in",
                status=MessageStatus.RECEIVED,
                text=CRISIS,
                claimed_by=by,
                claimed_until=until,
            ),
        )
        return stored.id


async def test_a_message_left_unhandled_past_its_lease_is_handled_without_a_restart(
    services: Services, clock: FixedClock
) -> None:
    live = await store_claimed(
        services, "l-1", by="other-replica", until=clock.now() + timedelta(seconds=30)
    )
    assert await services.pipeline.handle_stale() == 0, "another process is handling it"
    clock.advance(seconds=31)  # that process stopped (or lost its database) mid-way
    assert await services.pipeline.handle_stale() == 1
    assert await services.pipeline.handle_stale() == 0
    async with services.db.session() as session:
        message = await queries.get_message(session, live)
        escalation = await queries.escalation_of(session, message)
    assert message.status == MessageStatus.HANDLED and escalation.priority == "P1"


async def test_a_retry_reaching_another_replica_gets_the_first_outcome(
    db_url, model_dir, nlu, secrets, clock: FixedClock
) -> None:
    config = make_config(db_url, model_dir)
    first, second = [
        await Services.start(config, secrets, clock=clock, nlu=nlu, run_jobs=False)
        for _ in range(2)
    ]
    try:
        pending = await first.pipeline.submit(inbound(CRISIS, external_id="x-1"))
        retried = await second.pipeline.handle(inbound(CRISIS, external_id="x-1"))
        original = await pending
    finally:
        await first.close()
        await second.close()
    assert retried.duplicate and not original.duplicate
    assert retried.escalation["id"] == original.escalation["id"]
    assert retried.reply == original.reply


async def test_many_messages_of_one_mother_across_two_replicas_open_one_escalation(
    db_url, model_dir, nlu, secrets, clock: FixedClock
) -> None:
    config = make_config(db_url, model_dir)
    replicas = [
        await Services.start(config, secrets, clock=clock, nlu=nlu, run_jobs=False)
        for _ in range(2)
    ]
    try:
        outcomes = await asyncio.gather(
            *(
                replicas[i % 2].pipeline.handle(inbound(CRISIS, sender="same", external_id=f"c{i}"))
                for i in range(20)
            )
        )
        assert len({o.escalation["id"] for o in outcomes}) == 1
        assert await count(replicas[0], Escalation) == 1
        assert await count(replicas[0], Message) == 40  # 20 in, 20 replies: none lost
    finally:
        for replica in replicas:
            await replica.close()


DISTRESS = ["最近睡不好，心里很烦", "每天都很累，心里好难受", "又失眠了，心里很烦很压抑"]


async def test_distress_again_and_again_within_a_week_escalates_p2_once(
    services: Services, clock
) -> None:  # type: ignore[no-untyped-def]
    outcomes = []
    for i, text in enumerate(DISTRESS * 2):
        outcomes.append(await services.pipeline.handle(inbound(text, external_id=f"d-{i}")))
        clock.advance(hours=20)
    assert [o.classification.intent for o in outcomes] == ["emotional_distress"] * 6
    assert [o.escalation is None for o in outcomes] == [True, True, False, False, False, False]
    opened = outcomes[2].escalation
    assert opened["priority"] == "P2" and opened["reason"].startswith("反复情绪困扰")
    assert {o.escalation["id"] for o in outcomes[2:]} == {opened["id"]}, "one escalation"
    assert await count(services, Escalation) == 1
    async with services.db.session() as session:
        event = await queries.last_event(
            session, action="escalation.opened", object_type="escalation", object_id=opened["id"]
        )
    assert event is not None and event.detail["cause"] == "repeated_distress"


async def test_distress_spread_wider_than_the_window_does_not_escalate(
    services: Services, clock
) -> None:  # type: ignore[no-untyped-def]
    for i, text in enumerate(DISTRESS):
        outcome = await services.pipeline.handle(inbound(text, external_id=f"d-{i}"))
        assert outcome.escalation is None
        clock.advance(days=4)


async def test_after_her_escalation_is_resolved_the_count_starts_again(
    services: Services, clock
) -> None:  # type: ignore[no-untyped-def]
    for i, text in enumerate(DISTRESS):
        outcome = await services.pipeline.handle(inbound(text, external_id=f"a-{i}"))
    await escalations.resolve(services.db, outcome.escalation["id"], by="li", at=clock.now())
    clock.advance(hours=1)
    again = [
        await services.pipeline.handle(inbound(text, external_id=f"b-{i}"))
        for i, text in enumerate(DISTRESS)
    ]
    assert [o.escalation is None for o in again] == [True, True, False]
