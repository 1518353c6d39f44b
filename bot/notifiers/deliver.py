"""Deliver one notice to one person, falling back from sender to sender until one works.

Every attempt is kept (sender, status, reason, time) for the outbox row. The overall status is
delivered when any sender delivered; otherwise retryable when any failure was, so the worker
tries again with backoff; permanent only when no sender could ever work for this person.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.clock import Clock, SystemClock
from bot.notifiers.base import DeliveryResult, DeliveryStatus, Sender
from bot.notifiers.notice import StaffNotice
from bot.roster.config import SocialWorker

__all__ = ["DeliveryReport", "deliver"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    attempts: tuple[DeliveryResult, ...]

    @property
    def status(self) -> DeliveryStatus:
        statuses = {a.status for a in self.attempts}
        if DeliveryStatus.DELIVERED in statuses:
            return DeliveryStatus.DELIVERED
        if DeliveryStatus.FAILED_RETRYABLE in statuses:
            return DeliveryStatus.FAILED_RETRYABLE
        return DeliveryStatus.FAILED_PERMANENT

    @property
    def delivered_by(self) -> str | None:
        return next((a.sender for a in self.attempts if a.delivered), None)


async def deliver(
    notice: StaffNotice,
    person: SocialWorker,
    senders_in_order: Sequence[Sender],
    *,
    clock: Clock | None = None,
) -> DeliveryReport:
    clock = clock or SystemClock()
    attempts: list[DeliveryResult] = []
    for sender in senders_in_order:
        at = clock.now()
        try:
            result = await sender.send(notice, person)
        except Exception as exc:  # a bug in one sender must not keep the next from trying
            log.warning("sender %s raised %s", sender.name, type(exc).__name__)
            result = DeliveryResult.retry(sender.name, f"error ({type(exc).__name__})")
        attempts.append(dataclasses.replace(result, at=at))
        log.info(
            "notice %s (%s %s) to %s via %s: %s %s",
            notice.escalation_id,
            notice.kind.value,
            notice.priority.value,
            person.id,
            sender.name,
            result.status.value,
            result.reason,
        )
        if result.delivered:
            break
    if not attempts:
        attempts.append(DeliveryResult.give_up("none", "no sender configured for this person"))
    return DeliveryReport(tuple(attempts))
