"""Handling one message: de-duplicate → store → classify → act by policy → store → reply.

The inbound message is committed before anything else happens, so an accepted message is
never lost: if the process dies mid-way, ``recover`` handles it after the restart. Work outside
the database (scheduling, notifying) runs after the commit, through ``AfterCommit``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.message import InboundMessage, Outcome
from handlers import Effects, PolicySettings, ReplyText, Turn, plan
from intents import NLU, ParseResult, Risk, RiskLevel
from storage import queries
from storage.db import Database
from storage.direct import Tx
from storage.fieldcrypt import FieldCipher
from storage.models import (
    Classification,
    Contact,
    Direction,
    Escalation,
    FollowUp,
    Message,
    MessageStatus,
    Person,
)
from storage.records import (
    ContactRecord,
    EscalationRecord,
    FollowUpRecord,
    MessageRecord,
    PersonRecord,
    from_model,
)

log = logging.getLogger("careline.pipeline")

# When classification itself fails, a person looks at the message: escalate, never drop.
CLASSIFIER_FAILED = "自动分类失败，请人工查看"

# Deliveries remembered after their outcome, so a retry (WeChat's come within 15 s) is answered
# without a query. Older ones are replayed from the database.
RECENT_DELIVERIES = 5_000


class AfterCommit(Protocol):
    async def __call__(self, effects: Effects, person: PersonRecord) -> None: ...


@dataclass(frozen=True)
class History:
    messages: int
    minutes: int


class Pipeline:
    def __init__(
        self,
        *,
        db: Database,
        cipher: FieldCipher,
        nlu: NLU,
        policy: PolicySettings,
        history: History,
        zone: ZoneInfo,
        clock: Clock,
        after_commit: AfterCommit,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.nlu = nlu
        self.policy = policy
        self.history = history
        self.zone = zone
        self.clock = clock
        self.after_commit = after_commit
        self._deliveries: OrderedDict[tuple[str, str], _Delivery] = OrderedDict()
        self._tasks: set[asyncio.Future[Outcome]] = set()

    async def handle(self, inbound: InboundMessage) -> Outcome:
        return await (await self.submit(inbound))

    async def submit(self, inbound: InboundMessage) -> asyncio.Future[Outcome]:
        """Store the message, then return the future of its outcome.

        When this returns, the message is durably stored and may be acknowledged, even if the
        outcome is still being worked out (WeChat's 5-second deadline answers before that).
        A delivery of a message already stored or in flight gets the first outcome again.
        """
        key = (inbound.channel, inbound.external_id) if inbound.external_id else None
        if key is not None and (first := self._deliveries.get(key)) is not None:
            # A retry while the first delivery is being handled, or soon after: same answer.
            await asyncio.shield(first.stored)
            return asyncio.ensure_future(_as_duplicate(first.outcome))
        delivery = _Delivery.new()
        if key is not None:
            self._remember(key, delivery)
        try:
            stored = await self._store(inbound)
        except BaseException as exc:
            delivery.fail(exc)
            raise
        delivery.stored.set_result(None)
        if stored.state == "handled":
            work = self.replay(stored.message.id)
        else:
            work = self._process(stored)
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(delivery.settle)
        return (
            delivery.outcome
            if stored.state == "new"
            else asyncio.ensure_future(_as_duplicate(delivery.outcome))
        )

    def _remember(self, key: tuple[str, str], delivery: _Delivery) -> None:
        self._deliveries[key] = delivery
        # Never forget one still in flight: its retry would handle the message a second time.
        while len(self._deliveries) > RECENT_DELIVERIES:
            oldest = next(iter(self._deliveries.values()))
            if not oldest.outcome.done():
                break
            self._deliveries.popitem(last=False)

        def forget_a_failure(outcome: asyncio.Future[Outcome]) -> None:
            # A retry of a delivery that failed tries again rather than getting the failure.
            failed = outcome.cancelled() or outcome.exception() is not None
            if failed and self._deliveries.get(key) is delivery:
                del self._deliveries[key]

        delivery.outcome.add_done_callback(forget_a_failure)

    async def drain(self) -> None:
        """Wait for messages being handled (at shutdown, before the database closes)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def recover(self) -> int:
        """Handle messages stored but never handled (the process stopped mid-way)."""
        async with self.db.session() as session:
            leftovers = []
            for message in await queries.unhandled_inbound(session):
                person = await queries.get_person(session, message.person_id)
                record = from_model(MessageRecord, message)
                leftovers.append(
                    _Stored(
                        record,
                        from_model(PersonRecord, person),
                        "unhandled",
                        await self._history(session, record),
                    )
                )
        for stored in leftovers:
            log.warning("handling message #%s left unhandled by a restart", stored.message.id)
            await self._process(stored)
        return len(leftovers)

    async def record(self, inbound: InboundMessage) -> bool:
        """Keep a message with nothing to classify (a picture, say) in her thread.

        Stored as handled, so a restart does not take it up; False when stored before (a retry).
        """
        async with self.db.transaction() as session:
            person, _ = await queries.find_or_add_person(
                session, self.cipher, inbound.sender_kind, inbound.sender_id
            )
            row = _inbound_row(inbound, person.id, MessageStatus.HANDLED, self.clock.now())
            return await queries.insert_inbound(session, row) is not None

    async def _store(self, inbound: InboundMessage) -> _Stored:
        """Store the message (or find it stored before), with what the classifier needs."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            person, first_contact = await queries.find_or_add_person(
                session, self.cipher, inbound.sender_kind, inbound.sender_id
            )
            message = await queries.insert_inbound(
                session, _inbound_row(inbound, person.id, MessageStatus.RECEIVED, now)
            )
            if message is not None:
                # Her first message has no history: the person did not exist before it.
                history = [] if first_contact else await self._history(session, message)
                return _Stored(message, person, "new", history)
            message = await queries.find_message(session, inbound.channel, inbound.external_id)
            assert message is not None
            if message.status != MessageStatus.RECEIVED:
                return _Stored(message, person, "handled", [])
            # Stored by a run that died before handling it.
            return _Stored(message, person, "unhandled", await self._history(session, message))

    async def _history(self, session: Tx, message: MessageRecord) -> list[str]:
        """Her earlier messages in the window: context for the classifier (a crisis building up)."""
        return await queries.recent_inbound_texts(
            session,
            message.person_id,
            before_id=message.id,
            since=message.received_at - timedelta(minutes=self.history.minutes),
            limit=self.history.messages,
        )

    async def _process(self, stored: _Stored) -> Outcome:
        message, person = stored.message, stored.person
        parse = await self._classify(message.text, stored.history)
        now = self.clock.now()
        async with self.db.transaction() as session:
            # Every row here is a plain record written by an explicit statement (storage.direct):
            # the ORM's unit of work cost more than the rest of the transaction.
            await queries.insert_classification(session, _classification(message.id, parse))
            turn = Turn(
                session=session,
                person=person,
                message=message,
                parse=parse,
                now=now,
                settings=self.policy,
                zone=self.zone,
            )
            for action in plan(parse, addressed=message.addressed):
                await action(turn)
            reply = turn.effects.reply
            if reply is not None:
                await queries.insert_reply(session, _outbound(message, reply, now))
            # The row stored by _store, unchanged since: only this delivery handles it.
            escalation = turn.effects.escalation
            message.escalation_id = escalation.id if escalation is not None else None
            await queries.mark_handled(
                session, message.id, message.contact_id, message.escalation_id
            )
        message.status = MessageStatus.HANDLED
        # Notifying moves the escalation on (notified); the outcome says where it ended up.
        await self.after_commit(turn.effects, person)
        return _outcome(message, person, parse, turn.effects, duplicate=False)

    async def _classify(self, text: str, history: list[str]) -> ParseResult:
        try:
            return await self.nlu.parse(text, history=history, now=self.clock.now())
        except Exception:
            log.exception("classification failed; escalating for a person to look")
            risk = Risk(RiskLevel.MEDIUM, None, (CLASSIFIER_FAILED,))
            return ParseResult(text, "out_of_scope", 0.0, (), (), risk, "unavailable")

    async def replay(self, message_id: int) -> Outcome:
        """The outcome of a message handled before, for a retried delivery."""
        async with self.db.session() as session:
            message = await queries.get_message(session, message_id)
            person = await session.get(Person, message.person_id)
            reply_row = await queries.reply_to(session, message.id)
            stored = await queries.classification_of(session, message.id)
            effects = Effects(
                reply=ReplyText(reply_row.text, reply_row.sensitive) if reply_row else None,
                contact=await session.get(Contact, message.contact_id)
                if message.contact_id
                else None,
                escalation=await queries.escalation_of(session, message),
                follow_ups=list(await queries.follow_ups_for_message(session, message.id)),
            )
            parse = _parse_from_row(message.text, stored) if stored else None
            return _outcome(message, person, parse, effects, duplicate=True)


@dataclass
class _Stored:
    """A stored inbound message, its sender and her recent texts, as ``_store`` read them."""

    message: MessageRecord
    person: PersonRecord
    state: str  # "new", "unhandled" (stored by a run that stopped) or "handled"
    history: list[str]


@dataclass
class _Delivery:
    """One message in flight: stored yet? and its outcome, for retries arriving meanwhile."""

    stored: asyncio.Future[None]
    outcome: asyncio.Future[Outcome]

    @classmethod
    def new(cls) -> _Delivery:
        loop = asyncio.get_running_loop()
        delivery = cls(loop.create_future(), loop.create_future())
        for future in (delivery.stored, delivery.outcome):
            future.add_done_callback(_consume_exception)
        return delivery

    def fail(self, exc: BaseException) -> None:
        for future in (self.stored, self.outcome):
            if not future.done():
                future.set_exception(exc)

    def settle(self, task: asyncio.Future[Outcome]) -> None:
        if task.cancelled():
            self.fail(asyncio.CancelledError())
        elif task.exception() is not None:
            self.fail(task.exception())
        else:
            self.outcome.set_result(task.result())


def _consume_exception(future: asyncio.Future) -> None:  # type: ignore[type-arg]
    # A failure is raised to whoever awaits; nobody waiting is not worth a warning too.
    if not future.cancelled():
        future.exception()


async def _as_duplicate(outcome: asyncio.Future[Outcome]) -> Outcome:
    return replace(await asyncio.shield(outcome), duplicate=True)


def _classification(message_id: int, parse: ParseResult) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "intent": parse.intent,
        "confidence": parse.confidence,
        "risk_level": parse.risk.level,
        "risk_kind": parse.risk.kind,
        "risk_reasons": list(parse.risk.reasons),
        "entities": [e.to_dict() for e in parse.entities],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in parse.intent_ranking],
        "model_version": parse.model_version,
    }


def _parse_from_row(text: str, row: Classification) -> ParseResult:
    from intents import Entity

    return ParseResult(
        text=text,
        intent=row.intent,
        confidence=row.confidence,
        intent_ranking=tuple((r["name"], r["confidence"]) for r in row.intent_ranking),
        entities=tuple(Entity(**e) for e in row.entities),
        risk=Risk(RiskLevel(row.risk_level), row.risk_kind, tuple(row.risk_reasons)),
        model_version=row.model_version,
    )


def _inbound_row(
    inbound: InboundMessage, person_id: int | None, status: str, now: Any
) -> MessageRecord:
    return MessageRecord(
        person_id=person_id,
        channel=inbound.channel,
        external_id=inbound.external_id,
        direction=Direction.IN,
        status=status,
        content_type=inbound.content_type,
        text=inbound.text,
        conversation_id=inbound.conversation_id,
        addressed=inbound.addressed,
        sent_at=inbound.sent_at,
        received_at=now,
    )


def _outbound(message: MessageRecord, reply: ReplyText, now: Any) -> dict[str, Any]:
    return {
        "person_id": message.person_id,
        "channel": message.channel,
        "direction": Direction.OUT,
        "status": MessageStatus.SENT,
        "text": reply.text,
        "conversation_id": message.conversation_id,
        "sensitive": reply.sensitive,
        "reply_to_id": message.id,
        "contact_id": message.contact_id,
        "sent_at": now,
        "received_at": now,
    }


def _outcome(
    message: MessageRecord | Message,
    person: PersonRecord | Person,
    parse: ParseResult | None,
    effects: Effects,
    *,
    duplicate: bool,
) -> Outcome:
    return Outcome(
        message_id=message.id,
        person=person.pseudonym,
        duplicate=duplicate,
        reply=effects.reply,
        classification=parse,
        contact=contact_summary(effects.contact) if effects.contact else None,
        escalation=escalation_summary(effects.escalation) if effects.escalation else None,
        follow_ups=tuple(follow_up_summary(f) for f in effects.follow_ups),
    )


def contact_summary(contact: ContactRecord | Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "service_type": contact.service_type,
        "intent": contact.intent,
        "summary": contact.summary,
        "message_count": contact.message_count,
    }


def escalation_summary(escalation: EscalationRecord | Escalation) -> dict[str, Any]:
    return {
        "id": escalation.id,
        "priority": escalation.priority,
        "status": escalation.status,
        "reason": escalation.reason,
        "sla_deadline": escalation.sla_deadline.isoformat(),
    }


def follow_up_summary(follow_up: FollowUpRecord | FollowUp) -> dict[str, Any]:
    return {
        "id": follow_up.id,
        "kind": follow_up.kind,
        "status": follow_up.status,
        "due_at": follow_up.due_at.isoformat(),
    }
