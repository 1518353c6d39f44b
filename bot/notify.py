"""Telling staff: escalations and due follow-ups.

The embedded default writes to the service log (WARNING, ids and priority only — never what the
mother wrote); WeCom, SMS and e-mail notifiers plug in behind the same ``Notifier`` protocol.
"""

from __future__ import annotations

import logging
from typing import Protocol

from storage.models import Escalation, FollowUp

log = logging.getLogger("careline.notify")


class Notifier(Protocol):
    async def escalation(self, escalation: Escalation, person: str) -> bool:
        """Tell the staff at the escalation's level; True when it was delivered."""

    async def follow_up_due(self, follow_up: FollowUp, person: str) -> bool:
        """A follow-up is due for a worker to make; True when it was delivered."""


class LogNotifier:
    async def escalation(self, escalation: Escalation, person: str) -> bool:
        log.warning(
            "escalation #%s %s for %s (level %s), SLA %s",
            escalation.id,
            escalation.priority,
            person,
            escalation.level,
            escalation.sla_deadline.isoformat(timespec="minutes"),
        )
        return True

    async def follow_up_due(self, follow_up: FollowUp, person: str) -> bool:
        log.warning("follow-up #%s (%s) due for %s", follow_up.id, follow_up.kind, person)
        return True
