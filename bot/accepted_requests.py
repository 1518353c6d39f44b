"""The stored side of the replay guard (``accepted_request`` rows), as the channels need it.

Every signed callback that is let in is remembered here until its timestamp leaves the guard's
window, so a replay is refused whichever replica it reaches, also after a restart. There is no
cache in front: a new request must be written for the others to see it anyway, and only a
repeat (rare) would be spared a query. ``bot.channels.wechat.replay`` decides; this module only
reads and writes the rows, and now and then deletes a bounded batch of expired ones on the way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.wechat.replay import Admission, NonceUse
from storage import queries
from storage.db import Database
from storage.models import AcceptedRequest

__all__ = ["StoredAcceptedRequests"]

PRUNE_EVERY_SECONDS = 60.0
PRUNE_BATCH = 1_000


class StoredAcceptedRequests:
    def __init__(
        self,
        db: Database,
        *,
        prune_every_seconds: float = PRUNE_EVERY_SECONDS,
        prune_batch: int = PRUNE_BATCH,
    ) -> None:
        self._db = db
        self._prune_every = prune_every_seconds
        self._prune_batch = prune_batch
        self._pruned_at = float("-inf")  # the first new request after a start prunes

    async def accept(self, use: NonceUse, *, now: float) -> Admission:
        row = _row(use)
        async with self._db.write() as session:
            stored = await queries.accept_request(session, row)
            if stored == "":  # released meanwhile by its own request: the nonce is free again
                stored = await queries.accept_request(session, row)
            if stored is None and now - self._pruned_at >= self._prune_every:
                pruned = await queries.prune_accepted_requests(
                    session, _utc(now), limit=self._prune_batch
                )
                if pruned < self._prune_batch:  # a full batch: more are left, go on next time
                    self._pruned_at = now
        if stored is None:
            return Admission.NEW
        return Admission.RETRY if stored == use.fingerprint else Admission.REPLAY

    async def forget(self, use: NonceUse) -> None:
        async with self._db.write() as session:
            await queries.forget_request(session, _row(use))


def _row(use: NonceUse) -> AcceptedRequest:
    return AcceptedRequest(
        channel=use.channel,
        sent_at=use.sent_at,
        nonce=use.nonce,
        fingerprint=use.fingerprint,
        expires_at=_utc(use.expires_at),
    )


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
