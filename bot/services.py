"""The running service: database, NLU, scheduler, notifier and pipeline, started and stopped
together, plus the work the scheduler hands back (follow-ups, SLA checks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher

from bot import runtime
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.notify import LogNotifier, Notifier
from bot.pipeline import History, Pipeline
from bot.scheduler import Scheduler
from bot.secrets import Secrets
from handlers import Effects, followup
from intents import NLU, build_nlu
from intents.settings import NLUSettings
from storage import queries
from storage.db import Database, database_url
from storage.fieldcrypt import FieldCipher
from storage.migrate import head_revision
from storage.models import (
    Escalation,
    EscalationStatus,
    FollowUpStatus,
    Person,
    Priority,
    Role,
    StaffUser,
)

log = logging.getLogger("careline.services")

TOP_LEVEL = 2  # 0 duty social worker, 1 backup, 2 supervisors


class ServiceError(Exception):
    """The service cannot start; the message is one line for the operator."""


@dataclass
class Services:
    config: Config
    db: Database
    nlu: NLU
    scheduler: Scheduler
    notifier: Notifier
    clock: Clock
    pipeline: Pipeline
    _jobs: set[asyncio.Future[None]] = field(default_factory=set)

    async def run_job(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(job)
        self._jobs.add(task)
        try:
            await asyncio.shield(task)
        finally:
            self._jobs.discard(task)

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
        """Start everything. ``run_jobs=False`` stores jobs without running any (one-off CLI)."""
        clock = clock or SystemClock()
        url = database_url(config.database.url, secrets.database_password)
        db = Database(url)
        try:
            await _require_migrated(db)
            cipher = FieldCipher(secrets.field_key_bytes())
            nlu = nlu or build_nlu(nlu_settings(config))
            scheduler = Scheduler(url)
        except BaseException:
            await db.close()
            raise
        services = cls(
            config=config,
            db=db,
            nlu=nlu,
            scheduler=scheduler,
            notifier=notifier or LogNotifier(),
            clock=clock,
            pipeline=None,  # type: ignore[arg-type]
        )
        services.pipeline = Pipeline(
            db=db,
            cipher=cipher,
            nlu=nlu,
            policy=config.policy,
            history=History(config.nlu.history_messages, config.nlu.history_minutes),
            zone=config.zone,
            clock=clock,
            after_commit=services.after_commit,
        )
        runtime.install(services)
        # Paused until recover() is done: a follow-up firing meanwhile would be taken for one
        # a stop interrupted (marked failed, over its own result).
        scheduler.start(paused=True)
        await services.ensure_admin(secrets)
        if run_jobs:
            await services.recover()
            scheduler.resume()
        return services

    async def close(self) -> None:
        await self.pipeline.drain()
        self.scheduler.shutdown()
        # Let jobs already running finish before their database goes away.
        await asyncio.gather(*self._jobs, return_exceptions=True)
        await self.nlu.close()
        await self.db.close()
        runtime.install(None)

    # --- after a message's results are committed ---------------------------------------------

    async def after_commit(self, effects: Effects, person: Person) -> None:
        for follow_up in effects.follow_ups:
            self.scheduler.schedule_follow_up(follow_up.id, follow_up.due_at)
        escalation = effects.escalation
        if escalation is not None and effects.escalation_needs_notice:
            self.scheduler.schedule_sla_check(
                escalation.id, escalation.level, escalation.sla_deadline
            )
            await self.notify(escalation, person.pseudonym)

    async def notify_escalation(self, escalation_id: int) -> None:
        async with self.db.session() as session:
            escalation = await queries.get_escalation(session, escalation_id)
            person = await queries.get_person(session, escalation.person_id)
        await self.notify(escalation, person.pseudonym)

    async def notify(self, escalation: Escalation, person: str) -> None:
        """Tell the staff, then record that they were told (updating ``escalation`` too).

        The notifier runs outside any transaction: a WeCom or SMS call may take seconds, and
        on SQLite an open write transaction would hold every other writer back meanwhile.
        """
        try:
            delivered = await self.notifier.escalation(escalation, person)
        except Exception:
            log.exception("notifying escalation #%s failed; the SLA check retries", escalation.id)
            return
        if not delivered:
            return
        now = self.clock.now()
        async with self.db.transaction() as session:
            marked = await queries.mark_notified(session, escalation.id, now)
        if marked:
            escalation.status = EscalationStatus.NOTIFIED
            escalation.notified_at = escalation.updated_at = now

    # --- scheduler jobs ----------------------------------------------------------------------

    async def fire_follow_up(self, follow_up_id: int) -> None:
        """Fire one follow-up, exactly once: the claim lets only one run through."""
        now = self.clock.now()
        async with self.db.write() as session:
            follow_up = await followup.claim(session, follow_up_id, now)
            if follow_up is None:
                return
            person = await queries.get_person(session, follow_up.person_id)
        try:
            delivered = await self.notifier.follow_up_due(follow_up, person.pseudonym)
            outcome = "已通知社工跟进" if delivered else "通知未送达"
        except Exception:
            log.exception("follow-up #%s could not be delivered", follow_up_id)
            delivered, outcome = False, "通知出错"
        async with self.db.write() as session:
            follow_up = await queries.get_follow_up(session, follow_up_id)
            followup.finish(follow_up, delivered=delivered, outcome=outcome)
            await queries.audit(
                session,
                actor="scheduler",
                action="follow_up.fired",
                object_type="follow_up",
                object_id=follow_up_id,
                at=now,
                detail={"delivered": delivered},
            )

    async def check_escalation_sla(self, escalation_id: int, level: int) -> None:
        """Nobody acknowledged in time: climb to the backup, then the supervisors."""
        now = self.clock.now()
        async with self.db.write() as session:
            escalation = await queries.get_escalation(session, escalation_id)
            if escalation is None or escalation.level != level:
                return
            if escalation.status not in (EscalationStatus.OPEN, EscalationStatus.NOTIFIED):
                return
            escalation.level = min(level + 1, TOP_LEVEL)
            sla = self.config.policy.sla_minutes[Priority(escalation.priority)]
            escalation.sla_deadline = now + timedelta(minutes=sla)
            escalation.status = EscalationStatus.OPEN
            escalation.updated_at = now
            await queries.audit(
                session,
                actor="scheduler",
                action="escalation.sla_missed",
                object_type="escalation",
                object_id=escalation_id,
                at=now,
                detail={"from_level": level, "to_level": escalation.level},
            )
            climbed = escalation.level != level
        if climbed:
            self.scheduler.schedule_sla_check(escalation_id, level + 1, escalation.sla_deadline)
        await self.notify_escalation(escalation_id)

    # --- start-up ----------------------------------------------------------------------------

    async def recover(self) -> None:
        """Pick up whatever a stop interrupted; nothing accepted is lost."""
        await self.pipeline.recover()
        now = self.clock.now()
        async with self.db.write() as session:
            for follow_up in await queries.interrupted_follow_ups(session):
                followup.finish(follow_up, delivered=False, outcome="服务重启时中断，请人工确认")
                follow_up.status = FollowUpStatus.FAILED
                log.warning("follow-up #%s was interrupted by a restart", follow_up.id)
            pending = await queries.pending_follow_ups(session)
            unnotified = await queries.unnotified_escalations(session)
        for follow_up in pending:  # committed, but the process stopped before scheduling
            self.scheduler.schedule_follow_up(follow_up.id, max(follow_up.due_at, now))
        for escalation in unnotified:
            await self.notify_escalation(escalation.id)

    async def ensure_admin(self, secrets: Secrets) -> None:
        """The first sign-in account, with the generated (never a shipped) password."""
        if not secrets.admin_password:
            return
        async with self.db.write() as session:
            if await queries.count_staff(session):
                return
            session.add(
                StaffUser(
                    username="admin",
                    display_name="管理员",
                    role=Role.ADMIN,
                    password_hash=PasswordHasher().hash(secrets.admin_password),
                )
            )


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
