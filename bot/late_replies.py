"""The stored side of late WeChat replies (``late_reply`` rows), as the channel needs it.

A reply that missed WeChat's deadline is owed through the API: its claim is stored before the
request is answered, so WeChat's retries and a restart find it and the reply goes out once.
The channel (``bot.channels.wechat.late``) sends; this module only reads and writes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from storage import queries
from storage.db import Database
from storage.fieldcrypt import FieldCipher
from storage.models import LateReply, LateReplyStatus, MessageStatus

__all__ = ["LateReplyStatus", "OwedReply", "StoredLateReplies"]

_RECIPIENT = "late_reply.recipient"  # encryption context of the stored recipient id


@dataclass(frozen=True)
class OwedReply:
    claim_id: int
    key: str  # the message's external id
    recipient: str
    message_id: int | None  # None, or a message not handled yet: it waits
    handled: bool


class StoredLateReplies:
    def __init__(self, *, db: Database, cipher: FieldCipher, clock: Clock) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock

    async def claimed(self, channel: str, key: str) -> bool:
        async with self._db.session() as session:
            return await queries.late_reply_claimed(session, channel, key)

    async def claim(self, channel: str, key: str, recipient: str) -> int | None:
        """Store the claim; its id, or None when it was claimed before (a retry)."""
        claim = LateReply(
            channel=channel,
            external_id=key,
            recipient_encrypted=self._cipher.encrypt(recipient, context=_RECIPIENT),
            status=LateReplyStatus.PENDING,
            claimed_at=self._clock.now(),
        )
        async with self._db.write() as session:
            first = await queries.claim_late_reply(session, claim)
        return claim.id if first else None

    async def owed(self, channel: str) -> list[OwedReply]:
        async with self._db.session() as session:
            pending = await queries.pending_late_replies(session, channel)
            owed = []
            for claim in pending:
                message = await queries.find_message(session, channel, claim.external_id)
                owed.append(
                    OwedReply(
                        claim_id=claim.id,  # type: ignore[arg-type]
                        key=claim.external_id,
                        recipient=self._cipher.decrypt(
                            claim.recipient_encrypted, context=_RECIPIENT
                        ),
                        message_id=message.id if message is not None else None,
                        handled=message is not None and message.status == MessageStatus.HANDLED,
                    )
                )
        return owed

    async def finish(self, claim_id: int, status: LateReplyStatus, *, attempts: int) -> None:
        async with self._db.write() as session:
            await queries.finish_late_reply(
                session, claim_id, status, self._clock.now(), attempts=attempts
            )
