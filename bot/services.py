"""The running service: database, NLU, pipeline, outbox worker and scheduler leadership,
started and stopped together. What each does lives in its own module; this one only wires."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets as random
import socket
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.accepted_requests import StoredAcceptedRequests
from bot.api_tokens import StoredApiTokens
from bot.channels.wechat.outbound import build_senders as wechat_senders
from bot.check_ins import CheckIns
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.follow_ups import FollowUps
from bot.late_replies import LateReplyWork
from bot.leader import Leadership
from bot.notifiers.factory import build_senders
from bot.notify import LogNotifier, Notifier
from bot.outbound import MotherSender
from bot.outbox import Handler, OutboxWorker
from bot.pipeline import History, Pipeline
from bot.scheduler import Scheduler
from bot.secrets import Secrets, SecretsError
from bot.staff_work import StaffWork
from intents import NLU, build_nlu
from intents.settings import NLUSettings
from storage import queries
from storage.db import Database, database_url
from storage.fieldcrypt import FieldCipher
from storage.migrate import head_revision
from storage.models import OutboxKind

log = logging.getLogger("careline.services")

# The leader's duties and how often each runs, in seconds.
DUTIES = {
    "outbox": 1.0,  # rows due now: follow-ups, SLA checks, retries, other replicas' notices
    "stale_messages": 5.0,  # messages whose handling stopped (their lease ran out)
    "roster_gaps": 300.0,  # nobody on duty soon (or now): the supervisors are told
}


class ServiceError(Exception):
    """The service cannot start; the message is one line for the operator."""


def process_name() -> str:
    """This process among the replicas: for leases on messages and outbox rows."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{random.token_hex(3)}"


@dataclass
class Services:
    config: Config
    db: Database
    nlu: NLU
    notifier: Notifier
    clock: Clock
    pipeline: Pipeline
    outbox: OutboxWorker
    scheduler: Scheduler
    leadership: Leadership
    http: aiohttp.ClientSession
    to_mothers: dict[str, MotherSender]
    # Shared by every replica: the signed callbacks let in, the WeChat / WeCom API tokens.
    accepted_requests: StoredAcceptedRequests
    api_tokens: StoredApiTokens
    staff_work: StaffWork
    _duties: set[asyncio.Future[None]] = field(default_factory=set)

    @classmethod
    async def start(
        cls,
        config: Config,
        secrets: Secrets,
        *,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        nlu: NLU | None = None,
        run_jobs: bool = True,
    ) -> Services:
        """Start everything. ``run_jobs=False`` does no background work (one-off CLI, tests
        that drive the outbox and the sweeps themselves)."""
        clock = clock or SystemClock()
        notifier = notifier or LogNotifier()
        url = database_url(config.database.url, secrets.database_password)
        db = Database(url)
        try:
            await _require_migrated(db)
            cipher = FieldCipher(secrets.field_key_bytes())
            nlu = nlu or build_nlu(nlu_settings(config))
        except BaseException:
            await db.close()
            raise
        owner = process_name()
        http = aiohttp.ClientSession()  # the staff senders' (WeCom, SMS, webhook)
        api_tokens = StoredApiTokens(db=db, cipher=cipher)
        try:
            senders = build_senders(config, secrets, http, api_tokens)
        except SecretsError as exc:
            await http.close()
            await db.close()
            raise ServiceError(str(exc)) from None
        staff_work = StaffWork(
            db=db,
            notifier=notifier,
            clock=clock,
            config=config,
            senders=senders,
            ack_secret=secrets.ack_secret,
        )
        to_mothers = wechat_senders(config, secrets, api_tokens)
        outbox = OutboxWorker(
            db=db,
            clock=clock,
            owner=owner,
            handlers=outbox_handlers(db, cipher, clock, config, staff_work, to_mothers),
        )
        pipeline = Pipeline(
            db=db,
            cipher=cipher,
            nlu=nlu,
            policy=config.policy,
            history=History(config.nlu.history_messages, config.nlu.history_minutes),
            zone=config.zone,
            clock=clock,
            owner=owner,
            on_committed=outbox.wake,
        )
        scheduler = Scheduler(url)
        services: Services
        leadership = Leadership(
            db,
            on_gain=lambda: services.lead(),
            on_loss=lambda: services.step_down(),
        )
        services = cls(
            config=config,
            db=db,
            nlu=nlu,
            notifier=notifier,
            clock=clock,
            pipeline=pipeline,
            outbox=outbox,
            scheduler=scheduler,
            leadership=leadership,
            http=http,
            to_mothers=to_mothers,
            accepted_requests=StoredAcceptedRequests(db),
            api_tokens=api_tokens,
            staff_work=staff_work,
        )
        if run_jobs:
            outbox.start()
            outbox.wake()
            await leadership.check()
            leadership.start()
        return services

    async def close(self) -> None:
        await self.pipeline.drain()
        await self.leadership.stop()
        await asyncio.gather(*self._duties, return_exceptions=True)
        await self.outbox.stop()
        for sender in self.to_mothers.values():
            await sender.close()
        await self.http.close()
        await self.nlu.close()
        await self.db.close()

    # --- the leader's duties ------------------------------------------------------------------

    async def lead(self) -> None:
        """This process leads: take up what a stop left, then keep the duties going."""
        await self.pipeline.handle_stale()
        self.outbox.wake()
        self.scheduler.start(DUTIES, self.do_duty)
        self.do_duty("roster_gaps")  # a new leader looks at once, not minutes later

    async def step_down(self) -> None:
        self.scheduler.shutdown()

    def do_duty(self, duty: str) -> None:
        if duty == "outbox":
            self.outbox.wake()
        elif duty == "stale_messages":
            self.pipeline.sweep_soon()
        elif duty == "roster_gaps":
            self._in_background(self.check_roster_gaps())

    async def check_roster_gaps(self) -> None:
        try:
            if await self.staff_work.check_roster():
                self.outbox.wake()
        except Exception as exc:
            # The next check tries again; the gaps are worked out afresh each time.
            log.error("could not check the roster for gaps: %s", type(exc).__name__)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._duties.add(task)
        task.add_done_callback(self._duties.discard)

    @property
    def healthy_scheduler(self) -> bool:
        """A standby replica is healthy; the leader is while its scheduler runs."""
        return not self.leadership.leading or self.scheduler.running


def outbox_handlers(
    db: Database,
    cipher: FieldCipher,
    clock: Clock,
    config: Config,
    staff: StaffWork,
    to_mothers: dict[str, MotherSender],
) -> dict[str, Handler]:
    """What each kind of outbox row does: staff notices, follow-ups, messages to mothers."""
    check_ins = CheckIns(
        db=db,
        cipher=cipher,
        clock=clock,
        policy=config.policy,
        zone=config.zone,
        senders=to_mothers,
        staff=staff,
    )
    follow_ups = FollowUps(db=db, clock=clock, staff=staff, check_ins=check_ins)
    late_replies = LateReplyWork(db=db, cipher=cipher, clock=clock, senders=to_mothers)
    return {
        **staff.handlers(),
        OutboxKind.FOLLOW_UP: follow_ups.fire,
        OutboxKind.CHECK_IN: check_ins.send,
        OutboxKind.LATE_REPLY: late_replies.send,
    }


def nlu_settings(config: Config) -> NLUSettings:
    nlu = config.nlu
    return NLUSettings(
        backend=nlu.backend,
        model_dir=nlu.model_dir,
        threshold=nlu.threshold,
        rasa_url=nlu.rasa_url,
        rasa_timeout=nlu.rasa_timeout_seconds,
        timezone=config.service.timezone,
    )


async def _require_migrated(db: Database) -> None:
    async with db.session() as session:
        try:
            current = await queries.schema_revision(session)
        except Exception as exc:
            raise ServiceError(f"database unreachable: {type(exc).__name__}: {exc}") from None
    if current != head_revision():
        raise ServiceError("the database is not migrated: run `careline db upgrade`")
