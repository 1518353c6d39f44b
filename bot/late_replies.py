"""Late WeChat replies: owed through the API once the passive deadline passed, sent from the
outbox, exactly once per message.

WeChat drops a passive reply that comes after 5 s (and retries the request), so the channel
answers "success" at its deadline and claims the reply here. The claim (``late_reply``) and its
outbox row are stored in one transaction before the request is answered: WeChat's retries find
the claim and answer "success" too (the API send is not idempotent, a passive reply is), and
whichever replica's outbox worker claims the row sends the reply once her message is handled,
after a restart too. A send that certainly did not go out is tried again with the outbox's
backoff; one that may have gone out (a timeout, or a run that stopped mid-send: the claim is
marked "sending" first) is not: she must not get it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.outbound import MotherSender, SendError, SendFailure
from bot.outbox import Result, Verdict
from storage import queries
from storage.db import Database
from storage.fieldcrypt import FieldCipher
from storage.models import LateReply, LateReplyStatus, MessageStatus, OutboxItem, OutboxKind

__all__ = ["LateReplyStatus", "LateReplyWork", "StoredLateReplies"]

log = logging.getLogger("careline.late_replies")

_RECIPIENT = "late_reply.recipient"  # encryption context of the stored recipient id

# A message not handled this long after its reply was claimed is given up on (a person looks).
GIVE_UP_AFTER = timedelta(minutes=10)
# Sends of a reply that certainly failed (WeChat busy, no connection) before giving up (the
# row's claims count waits for her message too, so the claim counts its own sends).
SEND_TRIES = 6


def late_reply_key(late_reply_id: int) -> str:
    return f"late-reply:{late_reply_id}"


class StoredLateReplies:
    """The claims, as the channel needs them."""

    def __init__(
        self,
        *,
        db: Database,
        cipher: FieldCipher,
        clock: Clock,
        on_ready: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self._on_ready = on_ready  # wakes the outbox worker

    async def claimed(self, channel: str, key: str) -> bool:
        async with self._db.session() as session:
            return await queries.late_reply_claimed(session, channel, key)

    async def claim(self, channel: str, key: str, recipient: str) -> bool:
        """Store the claim and its outbox row; False when it was claimed before (a retry)."""
        now = self._clock.now()
        claim = LateReply(
            channel=channel,
            external_id=key,
            recipient_encrypted=self._cipher.encrypt(recipient, context=_RECIPIENT),
            status=LateReplyStatus.PENDING,
            claimed_at=now,
        )
        async with self._db.write() as session:
            if not await queries.claim_late_reply(session, claim):
                return False
            await queries.enqueue(
                session,
                kind=OutboxKind.LATE_REPLY,
                key=late_reply_key(claim.id),  # type: ignore[arg-type]
                due_at=now,
                now=now,
                late_reply_id=claim.id,
            )
        return True

    def reply_ready(self) -> None:
        """Her message was handled here: its reply can go now."""
        self._on_ready()


class LateReplyWork:
    """Sends a ``late_reply`` outbox row's reply through her channel's API."""

    def __init__(
        self,
        *,
        db: Database,
        cipher: FieldCipher,
        clock: Clock,
        senders: Mapping[str, MotherSender],
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self._senders = dict(senders)

    async def send(self, item: OutboxItem) -> Result:
        now = self._clock.now()
        assert item.late_reply_id is not None
        async with self._db.session() as session:
            claim = await session.get_one(LateReply, item.late_reply_id)
            if claim.status == LateReplyStatus.SENDING:
                # A run stopped mid-send: it may have reached her. Not again; a person looks.
                return await self._finish(claim, LateReplyStatus.FAILED, now, Verdict.FAILED)
            if claim.status != LateReplyStatus.PENDING:
                return Result(Verdict.DONE, "finished before")
            message = await queries.find_message(session, claim.channel, claim.external_id)
            if message is None or message.status != MessageStatus.HANDLED:
                # Being handled (here or, after a stop, by whoever takes its lease up).
                if now - claim.claimed_at < GIVE_UP_AFTER:
                    return Result(Verdict.WAIT, "message not handled yet")
                return await self._finish(claim, LateReplyStatus.FAILED, now, Verdict.FAILED)
            reply = await queries.reply_to(session, message.id)  # type: ignore[arg-type]
        if reply is None:
            return await self._finish(claim, LateReplyStatus.NO_REPLY, now, Verdict.DONE)
        sender = self._senders.get(claim.channel)
        if sender is None:
            log.warning("%s: a late reply is owed and no API secret is set", claim.channel)
            return await self._finish(claim, LateReplyStatus.NO_API, now, Verdict.FAILED)
        recipient = self._cipher.decrypt(claim.recipient_encrypted, context=_RECIPIENT)
        if not await self._mark(
            claim, was=LateReplyStatus.PENDING, now=LateReplyStatus.SENDING, counting_a_try=True
        ):
            return Result(Verdict.DONE, "finished before")
        tries = claim.attempts + 1  # this one included
        try:
            await sender.send_text(recipient, reply.text)
        except SendError as exc:
            log.warning("%s: late reply #%s: %s", claim.channel, claim.id, exc.failure.value)
            if exc.failure is SendFailure.RETRY and tries < SEND_TRIES:
                await self._mark(claim, was=LateReplyStatus.SENDING, now=LateReplyStatus.PENDING)
                return Result(Verdict.RETRY, exc.failure.value)
            status = (
                LateReplyStatus.OUT_OF_WINDOW
                if exc.failure is SendFailure.OUT_OF_WINDOW
                else LateReplyStatus.FAILED
            )
            return await self._finish(claim, status, now, Verdict.FAILED)
        log.info("%s: reply to message #%s sent late through the API", claim.channel, message.id)
        return await self._finish(claim, LateReplyStatus.SENT, now, Verdict.DONE)

    async def _mark(
        self,
        claim: LateReply,
        *,
        was: LateReplyStatus,
        now: LateReplyStatus,
        counting_a_try: bool = False,
    ) -> bool:
        async with self._db.write() as session:
            return await queries.mark_late_reply(  # type: ignore[arg-type]
                session, claim.id, was=was, now=now, counting_a_try=counting_a_try
            )

    async def _finish(
        self, claim: LateReply, status: LateReplyStatus, now: datetime, verdict: Verdict
    ) -> Result:
        async with self._db.write() as session:
            await queries.finish_late_reply(session, claim.id, status, now)  # type: ignore[arg-type]
        return Result(verdict, status.value)
