"""The ``Sender`` protocol every notifier implements, and what a delivery attempt gives back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.notifiers.notice import StaffNotice
from bot.roster.config import SocialWorker

__all__ = ["DeliveryResult", "DeliveryStatus", "Sender"]


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED_RETRYABLE = "failed_retryable"  # try again later (down, busy, timeout)
    FAILED_PERMANENT = "failed_permanent"  # will not work by retrying (no address, refused)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """One attempt. ``reason`` is short and safe to store: never a secret, URL, phone or text."""

    sender: str
    status: DeliveryStatus
    reason: str = ""
    at: datetime | None = None  # stamped by ``deliver``

    @property
    def delivered(self) -> bool:
        return self.status is DeliveryStatus.DELIVERED

    @classmethod
    def ok(cls, sender: str) -> DeliveryResult:
        return cls(sender, DeliveryStatus.DELIVERED, "ok")

    @classmethod
    def retry(cls, sender: str, reason: str) -> DeliveryResult:
        return cls(sender, DeliveryStatus.FAILED_RETRYABLE, reason)

    @classmethod
    def give_up(cls, sender: str, reason: str) -> DeliveryResult:
        return cls(sender, DeliveryStatus.FAILED_PERMANENT, reason)

    @classmethod
    def failed(cls, sender: str, reason: str, *, retryable: bool) -> DeliveryResult:
        return cls.retry(sender, reason) if retryable else cls.give_up(sender, reason)


class Sender(Protocol):
    name: str

    async def send(self, notice: StaffNotice, person: SocialWorker) -> DeliveryResult:
        """Deliver one notice to one person; never raises for delivery problems."""
        ...
