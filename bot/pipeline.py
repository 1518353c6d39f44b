"""Handling one message: de-duplicate → read her recent texts → classify → one transaction:
store it, read her case, decide by policy, write the decision → reply.

The message is stored in the transaction that decides it, and ``submit`` returns (the channel
acknowledges) only once that is committed, so an accepted message is never lost. When the
decision cannot be written, the message is stored alone, with a lease (``claimed_by`` /
``claimed_until``) held by this process while it tries again; a message still unhandled when
its lease runs out (the process stopped, or lost its database mid-way) is taken up by
``handle_stale``, which the scheduler leader runs continuously. Nothing outside the database
is done inside a mother's request: the staff are told through outbox rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from bot import call_rows
from bot.case_rows import page_for, schedule_follow_up, write_escalation
from bot.clock import Clock
from bot.message import CALL_CHANNEL, InboundMessage, Outcome, PartlyTaken, Taken, Together
from handlers import Case, Decision, PolicySettings, ReplyText, Turn, decide
from handlers.distress import DISTRESS_INTENTS, DISTRESS_RISK_LEVELS, shows_distress
from handlers.turn import (
    ContinueContact,
    OpenContact,
)
from intents import NLU, ParseResult, Risk, RiskLevel
from storage import queries
from storage.db import Database
from storage.fieldcrypt import FieldCipher
from storage.models import (
    Classification,
    Contact,
    Direction,
    Escalation,
    FollowUp,
    FollowUpKind,
    HotlineCall,
    Message,
    MessageStatus,
    Person,
)

log = logging.getLogger("careline.pipeline")

# When classification itself fails, a person looks at the message: escalate, never drop.
CLASSIFIER_FAILED = "自动分类失败，请人工查看"

# Deliveries remembered after their outcome, so a retry (WeChat's come within 15 s) is answered
# without a query. Older ones are replayed from the database.
RECENT_DELIVERIES = 5_000

# How long the process that stored a message holds it. Handling takes milliseconds (seconds
# with a slow Rasa); past this, another process may take it up.
MESSAGE_LEASE = timedelta(seconds=30)


@dataclass(frozen=True)
class History:
    messages: int
    minutes: int


@dataclass
class Effects:
    """The rows one message's decision wrote (or a replay read back)."""

    reply: ReplyText | None = None
    contact: Contact | None = None
    escalation: Escalation | None = None
    follow_ups: list[FollowUp] | None = None
    notified_staff: bool = False


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
        owner: str,
        on_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.nlu = nlu
        self.policy = policy
        self.history = history
        self.zone = zone
        self.clock = clock
        self.owner = owner
        # Called after a decision that enqueued outbox work (wakes this process's worker).
        self.on_committed = on_committed
        self._deliveries: OrderedDict[tuple[str, str], _Delivery] = OrderedDict()
        self._tasks: set[asyncio.Future[Outcome]] = set()
        self._sweep: asyncio.Future[None] | None = None

    async def handle(self, inbound: InboundMessage) -> Outcome:
        return await (await self.submit(inbound))

    async def submit(self, inbound: InboundMessage) -> asyncio.Future[Outcome]:
        """Classify, store and decide the message, then return the future of its outcome.

        When this returns, the message is durably stored and may be acknowledged; nearly
        always its outcome is ready too (stored and decided in one transaction). A delivery
        of a message already stored or in flight gets the first outcome again.
        """
        return (await self.submit_batch([Together((inbound,))]))[0].outcomes[0]

    async def submit_batch(self, groups: Sequence[Together]) -> list[Taken]:
        """Each group's messages classified in order (each with the ones before it as
        history), then every group's messages and records stored and decided in one
        transaction; per group, one future per message, in their order, and whether its
        record was stored now. One sender per group; a sender whose identity is in an earlier
        group of the batch starts a transaction of its own (her history and case read as her
        earlier group left them). Stored once this returns; ``PartlyTaken`` when only the
        first groups could be."""
        results: list[Taken] = []
        for part in _by_distinct_senders(self.cipher, groups):
            try:
                results += await self._submit_part(part)
            except Exception as exc:
                if results:  # earlier parts are stored: say which, so none is taken twice
                    raise PartlyTaken(results) from exc
                raise
        return results

    async def _submit_part(self, groups: list[Together]) -> list[Taken]:
        futures: list[list[asyncio.Future[Outcome] | None]] = []
        in_flight: list[asyncio.Future[None]] = []
        fresh: list[list[tuple[int, _Delivery]]] = []
        for group in groups:
            together = {
                (i.sender_kind, i.sender_id, i.call and i.call.call_id) for i in group.messages
            }
            assert len(together) <= 1, "one sender, one call"
            futures.append([None] * len(group.messages))
            fresh.append([])
            for index, inbound in enumerate(group.messages):
                key = (inbound.channel, inbound.external_id) if inbound.external_id else None
                if key is not None and (first := self._deliveries.get(key)) is not None:
                    # A retry while the first delivery is being handled, or soon after: same
                    # answer.
                    in_flight.append(asyncio.shield(first.stored))
                    futures[-1][index] = asyncio.ensure_future(_as_duplicate(first.outcome))
                    continue
                delivery = _Delivery.new()
                if key is not None:
                    self._remember(key, delivery)
                fresh[-1].append((index, delivery))
        to_take = [
            Together(tuple(group.messages[i] for i, _ in deliveries), group.record)
            for group, deliveries in zip(groups, fresh, strict=True)
        ]
        recorded = [False] * len(groups)
        taking = [n for n, group in enumerate(to_take) if group.messages or group.record]
        if taking:
            try:
                taken = await self._take([to_take[n] for n in taking])
            except BaseException as exc:
                for group, deliveries in zip(groups, fresh, strict=True):
                    for index, delivery in deliveries:
                        delivery.fail(exc)
                        # Forgotten now, not once the failure's callbacks run: a retry at once
                        # (the import taking the batch's calls one by one) tries again.
                        self._forget(group.messages[index], delivery)
                raise
            for n, (works, stored_record) in zip(taking, taken, strict=True):
                recorded[n] = stored_record
                for (index, delivery), (work, new) in zip(fresh[n], works, strict=True):
                    delivery.stored.set_result(None)
                    task = asyncio.ensure_future(work)
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    task.add_done_callback(delivery.settle)
                    futures[n][index] = (
                        delivery.outcome
                        if new
                        else asyncio.ensure_future(_as_duplicate(delivery.outcome))
                    )
        for stored in in_flight:
            await stored
        return [
            Taken(outcomes, stored_record)  # type: ignore[arg-type]
            for outcomes, stored_record in zip(futures, recorded, strict=True)
        ]

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

    def _forget(self, inbound: InboundMessage, delivery: _Delivery) -> None:
        key = (inbound.channel, inbound.external_id)
        if self._deliveries.get(key) is delivery:  # type: ignore[arg-type]
            del self._deliveries[key]  # type: ignore[arg-type]

    async def drain(self) -> None:
        """Wait for messages being handled (at shutdown, before the database closes)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sweep is not None:
            await asyncio.gather(self._sweep, return_exceptions=True)

    def sweep_soon(self) -> None:
        """Run ``handle_stale`` in the background, unless a sweep is under way."""
        if self._sweep is not None and not self._sweep.done():
            return
        self._sweep = asyncio.ensure_future(self._sweep_quietly())

    async def _sweep_quietly(self) -> None:
        try:
            await self.handle_stale()
        except Exception as exc:
            log.error("could not look for unhandled messages: %s", type(exc).__name__)

    async def handle_stale(self, *, limit: int = 50) -> int:
        """Handle messages stored but left unhandled past their lease; how many were taken.

        Runs at start-up and then continuously on the scheduler leader: a message whose
        handling failed after it was stored (a database outage, a crash) is handled without
        waiting for a retry or a restart.
        """
        now = self.clock.now()
        async with self.db.write() as session:
            stale = await queries.claim_stale_messages(
                session, owner=self.owner, now=now, until=now + MESSAGE_LEASE, limit=limit
            )
            leftovers = [
                _Stored(
                    message,
                    await session.get_one(Person, message.person_id),
                    "unhandled",
                    await self._history(session, message),
                )
                for message in stale
            ]
        for stored in leftovers:
            log.warning("handling message #%s left unhandled past its lease", stored.message.id)
            try:
                await self._process(stored)
            except Exception as exc:
                # Its lease runs out again and the next sweep tries again.
                log.error(
                    "message #%s still cannot be handled: %s", stored.message.id, type(exc).__name__
                )
        return len(leftovers)

    async def record(self, inbound: InboundMessage) -> bool:
        """Keep a message with nothing to classify (a picture, say) in her thread.

        Stored as handled, so no sweep takes it up; False when stored before (a retry). The
        record of a hotline call (``inbound.call``, at its end) brings the call's last facts.
        """
        return (await self.submit_batch([Together(record=inbound)]))[0].recorded

    async def _take(
        self, groups: list[Together]
    ) -> list[tuple[list[tuple[Awaitable[Outcome], bool]], bool]]:
        """Per group, each message's outcome to come (and whether it is new), once all are
        stored, and whether its record was stored now.

        Classified first, then stored and decided in one write transaction. When that
        transaction fails, the messages are stored alone, leased to this process, and handled
        as a message left by a stopped run is: should that fail too, the sweep takes them once
        their lease runs out. Raises only when nothing could be stored.
        """
        parses = [await self._classify_all(list(group.messages)) for group in groups]
        now = self.clock.now()
        try:
            async with self.db.write() as session:
                written = await self._write(session, groups, parses, now)
        except Exception as exc:
            log.warning("decision not written (%s): storing alone", type(exc).__name__)
            async with self.db.write() as session:
                written = await self._write(session, groups, None, now)
        decided = [w for ws, _ in written for w in ws if isinstance(w, _Decided)]
        wake = any(d.effects.notified_staff or d.effects.follow_ups for d in decided)
        return [
            ([(self._work(w, wake), isinstance(w, _Decided) or w.state == "new") for w in ws], rec)
            for ws, rec in written
        ]

    def _work(self, written: _Decided | _Stored, wake: bool) -> Awaitable[Outcome]:
        if isinstance(written, _Decided):
            return self._announce(written, wake)
        if written.state == "handled":
            return self.replay(written.message.id)  # type: ignore[arg-type]
        if written.state == "elsewhere":
            return self._outcome_from_elsewhere(written.message.id)  # type: ignore[arg-type]
        return self._process(written)

    async def _announce(self, decided: _Decided, wake: bool) -> Outcome:
        if wake:
            self.on_committed()
        return _outcome(
            decided.message, decided.person, decided.parse, decided.effects, duplicate=False
        )

    async def _classify_all(self, inbounds: list[InboundMessage]) -> list[ParseResult]:
        """Each message classified with her recent texts before it as history (the texts
        stored before, read in one query, then the ones before it here)."""
        if not inbounds:
            return []
        first = inbounds[0]
        since = self.clock.now() - timedelta(minutes=self.history.minutes)
        async with self.db.session() as session:
            history = await queries.recent_texts_of_identity(
                session,
                kind=first.sender_kind,
                lookup_hash=self.cipher.lookup_hash(first.sender_kind, first.sender_id),
                since=since,
                limit=self.history.messages,
            )
        parses = []
        for inbound in inbounds:
            parses.append(await self._classify(inbound.text, history))
            if inbound.text and self.history.messages > 0:
                history = [*history, inbound.text][-self.history.messages :]
        return parses

    async def _write(
        self,
        session: AsyncSession,
        groups: list[Together],
        parses: list[list[ParseResult]] | None,
        now: datetime,
    ) -> list[tuple[list[_Decided | _Stored], bool]]:
        """Store every group's messages and record (or find them stored before) and, with
        ``parses``, decide each new message; without, leave them leased to this process for
        ``_process``. Per group: what was written for each message, and whether its record
        was stored now."""
        senders = await self._senders(session, groups, now)
        rows: list[Message] = []
        for group, (person, _, _) in zip(groups, senders, strict=True):
            rows += [
                self._inbound_row(i, person.id, MessageStatus.RECEIVED, now) for i in group.messages
            ]
            if group.record is not None:
                rows.append(self._inbound_row(group.record, person.id, MessageStatus.HANDLED, now))
        stored = iter(await queries.insert_all_inbound(session, rows))
        results: list[tuple[list[_Decided | _Stored], bool]] = []
        later: list[Any] = []  # rows nothing here reads back: inserted together at the end
        seen: set[int] = set()
        for n, (group, (person, new_person, call)) in enumerate(zip(groups, senders, strict=True)):
            messages = [next(stored) for _ in group.messages]
            recorded = next(stored) is not None if group.record is not None else False
            if person.id in seen:
                # Her earlier group in this transaction (another identity of hers) is written
                # before her case is read again.
                await queries.insert_rows(session, later)
                later.clear()
                await session.flush()
            seen.add(person.id)  # type: ignore[arg-type]
            written = await self._write_group(
                session,
                group,
                messages,
                person,
                new_person,
                call,
                parses[n] if parses is not None else None,
                now,
                later,
            )
            results.append((written, recorded))
        await queries.insert_rows(session, later)
        return results

    async def _senders(
        self, session: AsyncSession, groups: list[Together], now: datetime
    ) -> list[tuple[Person, bool, HotlineCall | None]]:
        """``_sender`` for each group, in the groups' order; their rows are taken in one order
        whatever the groups' (by identity), so that two transactions with the same senders
        (two imports, two replicas) wait for each other instead of deadlocking."""
        taken: dict[int, tuple[Person, bool, HotlineCall | None]] = {}
        for n in sorted(range(len(groups)), key=lambda n: self._identity(groups[n].first)):
            taken[n] = await self._sender(session, groups[n], now)
        return [taken[n] for n in range(len(groups))]

    def _identity(self, inbound: InboundMessage) -> tuple[str, str]:
        return (
            inbound.sender_kind,
            self.cipher.lookup_hash(inbound.sender_kind, inbound.sender_id),
        )

    async def _sender(
        self, session: AsyncSession, group: Together, now: datetime
    ) -> tuple[Person, bool, HotlineCall | None]:
        """Her row, locked, whether it is new, and her call as this group says it stands."""
        first = group.first
        # Her row locked: two of her messages decided at once (PostgreSQL, two replicas)
        # would each see no open escalation and open two.
        person, new_person = await queries.find_or_add_person(
            session, self.cipher, first.sender_kind, first.sender_id, lock=True
        )
        facts = group.record.call if group.record is not None and group.record.call else first.call
        call = (
            await call_rows.note_call(session, facts, person_id=person.id, now=now)  # type: ignore[arg-type]
            if facts is not None  # the call's latest facts, once for its segments
            else None
        )
        return person, new_person, call

    async def _write_group(
        self,
        session: AsyncSession,
        group: Together,
        stored: list[Message | None],
        person: Person,
        new_person: bool,
        call: HotlineCall | None,
        parses: list[ParseResult] | None,
        now: datetime,
        later: list[Any],
    ) -> list[_Decided | _Stored]:
        written: list[_Decided | _Stored | None] = []
        new: list[tuple[int, Message]] = []
        for index, (inbound, message) in enumerate(zip(group.messages, stored, strict=True)):
            if message is None:
                written.append(await self._stored_before(session, inbound, person, now))
                continue
            if call is not None and inbound.call is not None and inbound.call.segment:
                later.append(call_rows.segment_row(call, message, inbound.call.segment))
            written.append(None)
            new.append((index, message))
        # Someone created just now has no case to read yet.
        earlier = Case(person=person, message=new[0][1]) if new and new_person else None
        reads = _CallReads() if call is not None else None
        # Nothing read while deciding a call needs its rows flushed first (her case is read
        # once, before any decision; the distress count leaves her call out): written in one
        # flush at the end, each table's rows together.
        with session.no_autoflush if call is not None else nullcontext():
            for index, message in new:
                if parses is None:
                    history = await self._history(session, message)
                    written[index] = _Stored(message, person, "new", history)
                    continue
                fresh = new_person and (call is not None or index == new[0][0])
                case, effects = await self._decide(
                    session,
                    person,
                    message,
                    parses[index],
                    now,
                    call=call,
                    later=later,
                    earlier=earlier,
                    fresh=fresh,
                    reads=reads,
                )
                written[index] = _Decided(message, person, parses[index], effects)
                if reads is not None and _opened_by(effects, message):
                    # Her distress before it is answered now (the count starts after it).
                    reads.distress = 0
                # A call's next segment finds her case as this decision left it (her row is
                # locked: nobody else changed it meanwhile); other messages read it again.
                earlier = _case_after(case, effects) if call is not None else None
        return written  # type: ignore[return-value]

    async def _stored_before(
        self, session: AsyncSession, inbound: InboundMessage, person: Person, now: datetime
    ) -> _Stored:
        """A message stored by an earlier delivery: handled, held elsewhere, or now ours."""
        message = await queries.find_message(session, inbound.channel, inbound.external_id)  # type: ignore[arg-type]
        assert message is not None
        if message.status != MessageStatus.RECEIVED:
            return _Stored(message, person, "handled", [])
        lease_over = message.claimed_until is None or message.claimed_until < now
        if not lease_over and message.claimed_by != self.owner:
            return _Stored(message, person, "elsewhere", [])
        # Stored by a run that stopped (or by this process, which forgot it): take it.
        message.claimed_by, message.claimed_until = self.owner, now + MESSAGE_LEASE
        return _Stored(message, person, "unhandled", await self._history(session, message))

    def _inbound_row(
        self, inbound: InboundMessage, person_id: int | None, status: str, now: datetime
    ) -> Message:
        return Message(
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
            claimed_by=self.owner if status == MessageStatus.RECEIVED else None,
            claimed_until=now + MESSAGE_LEASE if status == MessageStatus.RECEIVED else None,
        )

    async def _history(self, session: AsyncSession, message: Message) -> list[str]:
        """Her earlier messages in the window: context for the classifier (a crisis building up)."""
        return await queries.recent_inbound_texts(
            session,
            message.person_id,
            before_id=message.id,  # type: ignore[arg-type]
            since=message.received_at - timedelta(minutes=self.history.minutes),
            limit=self.history.messages,
        )

    async def _process(self, stored: _Stored) -> Outcome:
        """Classify and decide a message stored before (left by a stopped run, or stored
        alone when its decision could not be written)."""
        message_id = stored.message.id
        assert message_id is not None
        parse = await self._classify(stored.message.text, stored.history)
        now = self.clock.now()
        async with self.db.write() as session:
            person = await session.scalar(
                select(Person).where(Person.id == stored.person.id).with_for_update()
            )
            message = await session.scalar(
                select(Message)
                .where(Message.id == message_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert person is not None and message is not None
            if message.status != MessageStatus.RECEIVED:
                handled_elsewhere = True  # its lease ran out and another process handled it
            else:
                handled_elsewhere = False
                call = (
                    await queries.call_of_message(session, message_id)
                    if message.channel == CALL_CHANNEL
                    else None
                )
                later: list[Any] = []
                _, effects = await self._decide(
                    session, person, message, parse, now, call=call, later=later
                )
                await queries.insert_rows(session, later)
        if handled_elsewhere:
            return await self.replay(message_id)
        return await self._announce(
            _Decided(message, person, parse, effects),
            wake=effects.notified_staff or bool(effects.follow_ups),
        )

    async def _decide(
        self,
        session: AsyncSession,
        person: Person,
        message: Message,
        parse: ParseResult,
        now: datetime,
        *,
        call: HotlineCall | None,
        later: list[Any],
        earlier: Case | None = None,
        fresh: bool = False,
        reads: _CallReads | None = None,
    ) -> tuple[Case, Effects]:
        """Read her case (or take it from ``earlier``), decide by policy and write the
        decision: the one way a message is decided, in the caller's transaction, her row
        locked. Rows nothing reads back in the transaction are left in ``later`` for the
        caller to insert (``queries.insert_rows``) before it commits."""
        case = await self._case(session, person, message, parse, now, call, earlier, fresh, reads)
        decision = decide(
            Turn(case=case, parse=parse, now=now, settings=self.policy, zone=self.zone)
        )
        return case, await self._persist(session, case, parse, decision, now, later)

    async def _case(
        self,
        session: AsyncSession,
        person: Person,
        message: Message,
        parse: ParseResult,
        now: datetime,
        call: HotlineCall | None,
        earlier: Case | None,
        fresh: bool,
        reads: _CallReads | None = None,
    ) -> Case:
        """Her case for this message: read, or, given ``earlier`` (her case as it stands in
        this transaction), taken from it. The distress count is read whenever it counts,
        unless she is ``fresh`` (created in this transaction, and this message is her first,
        or in her first call, which the count leaves out)."""
        recent_distress = 0
        if shows_distress(parse) and not fresh and reads is not None and reads.distress is not None:
            recent_distress = reads.distress  # her call's count, read for a segment before
        elif shows_distress(parse) and not fresh:  # the policy counts only then
            recent_distress = await queries.count_unanswered_distress(
                session,
                person.id,  # type: ignore[arg-type]
                since=now - timedelta(days=self.policy.repeated_distress_days),
                intents=DISTRESS_INTENTS,
                risk_levels=DISTRESS_RISK_LEVELS,
                # The segments of one call are one conversation, not distress again and again.
                calls_channel=CALL_CHANNEL,
                leaving_out_call=message.conversation_id
                if message.channel == CALL_CHANNEL
                else None,
            )
            if reads is not None:
                # The same for her call's later segments: they are left out of it, and her
                # other messages do not change while her row is locked.
                reads.distress = recent_distress
        call_contact = (
            await session.get(Contact, call.contact_id)  # in the session once decided upon
            if call is not None and call.contact_id is not None
            else None
        )
        if earlier is not None:
            return replace(
                earlier,
                message=message,
                recent_distress=recent_distress,
                call=call,
                call_contact=call_contact,
            )
        since = now - timedelta(minutes=self.policy.contact_gap_minutes)
        return Case(
            person=person,
            message=message,
            open_escalation=await queries.unresolved_escalation(session, person.id),  # type: ignore[arg-type]
            # A call is one contact (``call_contact``): her other contacts do not matter to it.
            ongoing_contacts=()
            if call is not None
            else tuple(
                await queries.ongoing_contacts(session, person.id, message.channel, since)  # type: ignore[arg-type]
            ),
            next_check_in=await queries.pending_follow_up_of_kind(
                session,
                person.id,
                FollowUpKind.CHECK_IN,  # type: ignore[arg-type]
            ),
            recent_distress=recent_distress,
            call=call,
            call_contact=call_contact,
        )

    async def _persist(
        self,
        session: AsyncSession,
        case: Case,
        parse: ParseResult,
        decision: Decision,
        now: datetime,
        later: list[Any],
    ) -> Effects:
        """Write one decision: every row it names, in the caller's transaction (the
        classification and the reply in ``later``)."""
        message, person = case.message, case.person
        later.append(_classification(message.id, parse))  # type: ignore[arg-type]
        effects = Effects(reply=decision.reply, follow_ups=[])
        escalation = await self._write_escalation(session, case, decision, now)
        effects.escalation = escalation
        contact = await self._write_contact(session, case, decision, now)
        effects.contact = contact
        if case.call is not None:
            call_rows.after_decision(case.call, message, parse, contact, escalation)
        for planned in decision.follow_ups:
            follow_up = await schedule_follow_up(
                session,
                planned,
                person_id=person.id,  # type: ignore[arg-type]
                message_id=message.id,
                escalation_id=escalation.id if escalation is not None else None,
                channel=message.channel,
                now=now,
            )
            effects.follow_ups.append(follow_up)  # type: ignore[union-attr]
        if decision.escalation is not None and escalation is not None:
            effects.notified_staff = await page_for(session, decision.escalation, escalation, now)
        # The message's own changes last: one UPDATE, not one per row that got an id above.
        message.escalation_id = escalation.id if escalation is not None else None
        message.contact_id = contact.id if contact is not None else None
        message.status = MessageStatus.HANDLED
        message.claimed_until = None
        # Named even when unchanged: a call's messages then share one UPDATE (executemany).
        flag_modified(message, "contact_id")
        flag_modified(message, "escalation_id")
        if decision.reply is not None:
            later.append(_outbound(message, decision.reply, now))
        # No flush here: the commit (or the next query) writes what is left, a call's
        # segments' rows of one kind together.
        return effects

    async def _write_escalation(
        self, session: AsyncSession, case: Case, decision: Decision, now: datetime
    ) -> Escalation | None:
        if decision.escalation is None:
            return None
        return await write_escalation(
            session,
            decision.escalation,
            person_id=case.person.id,  # type: ignore[arg-type]
            message_id=case.message.id,  # type: ignore[arg-type]
            existing=case.open_escalation,
            now=now,
        )

    async def _write_contact(
        self, session: AsyncSession, case: Case, decision: Decision, now: datetime
    ) -> Contact | None:
        action = decision.contact
        if isinstance(action, OpenContact):
            contact = Contact(
                person_id=case.person.id,  # type: ignore[arg-type]
                channel=case.message.channel,
                service_type=action.service_type,
                intent=action.intent,
                summary=action.summary,
                started_at=now,
                ended_at=now,
            )
            if case.call is not None:
                call_rows.follow_the_call(contact, case.call)  # inserted as it will stay
            return await queries.insert_row(session, contact)
        if isinstance(action, ContinueContact):
            # A call's contact is continued however long ago the call ended (an imported
            # call, a final transcript sent late): it need not be among the ongoing ones.
            known = (*case.ongoing_contacts, *filter(None, [case.call_contact]))
            contact = next(c for c in known if c.id == action.contact_id)
            contact.ended_at = max(contact.ended_at, now)
            contact.message_count = action.message_count
            contact.intent = action.intent
            contact.summary = action.summary
            if action.service_type is not None:
                contact.service_type = action.service_type
            return contact
        return None

    async def _outcome_from_elsewhere(self, message_id: int) -> Outcome:
        """Another process holds this message: wait until it is handled, then replay it; if
        its lease runs out first (that process died), take the message over and handle it."""
        delay = 0.02
        while True:
            now = self.clock.now()
            async with self.db.write() as session:
                message = await session.get_one(Message, message_id, populate_existing=True)
                if message.status != MessageStatus.RECEIVED:
                    handled = True
                else:
                    handled = False
                    taken = await queries.take_over_message(
                        session, message_id, owner=self.owner, now=now, until=now + MESSAGE_LEASE
                    )
                    if taken:
                        person = await session.get_one(Person, message.person_id)
                        stored = _Stored(
                            message, person, "unhandled", await self._history(session, message)
                        )
            if handled:
                return await self.replay(message_id)
            if taken:
                return await self._process(stored)
            await asyncio.sleep(delay)  # polling the other process's progress
            delay = min(delay * 2, 0.5)

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
            message = await session.get_one(Message, message_id)
            person = await session.get_one(Person, message.person_id)
            reply_row = await queries.reply_to(session, message_id)
            stored = await queries.classification_of(session, message_id)
            effects = Effects(
                reply=ReplyText(reply_row.text, reply_row.sensitive) if reply_row else None,
                contact=await session.get(Contact, message.contact_id)
                if message.contact_id
                else None,
                escalation=await queries.escalation_of(session, message),
                follow_ups=list(await queries.follow_ups_for_message(session, message_id)),
            )
            parse = _parse_from_row(message.text, stored) if stored else None
            return _outcome(message, person, parse, effects, duplicate=True)


@dataclass
class _Stored:
    """A message stored but not decided, its sender and her texts before it (its history)."""

    message: Message
    person: Person
    # "new" (stored alone: its decision could not be written), "unhandled" (left by a run
    # that stopped; now ours), "elsewhere" (another process holds its lease) or "handled"
    state: str
    history: list[str]


@dataclass
class _CallReads:
    """What her case needs read once for a call's segments: the distress count (None: not
    read yet; 0 once an escalation opened in the call answers what came before)."""

    distress: int | None = None


def _opened_by(effects: Effects, message: Message) -> bool:
    return effects.escalation is not None and effects.escalation.message_id == message.id


@dataclass
class _Decided:
    """A message stored and decided in one transaction, and what its decision wrote."""

    message: Message
    person: Person
    parse: ParseResult
    effects: Effects


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


def _by_distinct_senders(
    cipher: FieldCipher, groups: Sequence[Together]
) -> Iterator[list[Together]]:
    """The groups in order, in parts where no sender's identity comes twice (her second group
    is classified with the first's words as history, and decided on the case it left)."""
    part: list[Together] = []
    senders: set[tuple[str, str]] = set()
    for group in groups:
        if not (group.messages or group.record):
            part.append(group)  # nothing to store (a call pushed before she spoke): no sender
            continue
        first = group.first
        sender = (first.sender_kind, cipher.lookup_hash(first.sender_kind, first.sender_id))
        if sender in senders:
            yield part
            part, senders = [], set()
        part.append(group)
        senders.add(sender)
    if part:
        yield part


def _case_after(case: Case, effects: Effects) -> Case:
    """Her case once ``effects`` are written: what ``Pipeline._case`` would read next in the
    same transaction for another message of the same call (whose contact is the call's)."""
    check_ins = [
        f
        for f in (case.next_check_in, *(effects.follow_ups or ()))
        if f is not None and f.kind == FollowUpKind.CHECK_IN
    ]
    return replace(
        case,
        # The escalation a decision wrote is unresolved: opened, raised or joined.
        open_escalation=effects.escalation or case.open_escalation,
        next_check_in=min(check_ins, key=lambda f: f.due_at) if check_ins else None,
    )


def _consume_exception(future: asyncio.Future) -> None:  # type: ignore[type-arg]
    # A failure is raised to whoever awaits; nobody waiting is not worth a warning too.
    if not future.cancelled():
        future.exception()


async def _as_duplicate(outcome: asyncio.Future[Outcome]) -> Outcome:
    return replace(await asyncio.shield(outcome), duplicate=True)


def _classification(message_id: int, parse: ParseResult) -> Classification:
    return Classification(
        message_id=message_id,
        intent=parse.intent,
        confidence=parse.confidence,
        risk_level=parse.risk.level,
        risk_kind=parse.risk.kind,
        risk_reasons=list(parse.risk.reasons),
        entities=[e.to_dict() for e in parse.entities],
        intent_ranking=[{"name": n, "confidence": c} for n, c in parse.intent_ranking],
        model_version=parse.model_version,
    )


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


def _outbound(message: Message, reply: ReplyText, now: datetime) -> Message:
    return Message(
        person_id=message.person_id,
        channel=message.channel,
        direction=Direction.OUT,
        status=MessageStatus.SENT,
        text=reply.text,
        conversation_id=message.conversation_id,
        sensitive=reply.sensitive,
        reply_to_id=message.id,
        contact_id=message.contact_id,
        sent_at=now,
        received_at=now,
    )


def _outcome(
    message: Message,
    person: Person,
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
        follow_ups=tuple(follow_up_summary(f) for f in effects.follow_ups or ()),
    )


def contact_summary(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "service_type": contact.service_type,
        "intent": contact.intent,
        "summary": contact.summary,
        "message_count": contact.message_count,
    }


def escalation_summary(escalation: Escalation) -> dict[str, Any]:
    return {
        "id": escalation.id,
        "priority": escalation.priority,
        "status": escalation.status,
        "reason": escalation.reason,
        "sla_deadline": escalation.sla_deadline.isoformat(),
    }


def follow_up_summary(follow_up: FollowUp) -> dict[str, Any]:
    return {
        "id": follow_up.id,
        "kind": follow_up.kind,
        "status": follow_up.status,
        "due_at": follow_up.due_at.isoformat(),
    }
