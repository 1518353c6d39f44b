"""A staff notifier standing in for WeCom, SMS and mail: it records what it was asked to send,
and can be down."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.models import Escalation, FollowUp


@dataclass
class RecordingNotifier:
    down: bool = False
    escalations: list[tuple[int, str, int]] = field(default_factory=list)  # id, priority, level
    follow_ups: list[int] = field(default_factory=list)

    async def escalation(self, escalation: Escalation, person: str) -> bool:
        if self.down:
            raise ConnectionError("notifier unreachable")
        self.escalations.append((escalation.id, escalation.priority, escalation.level))
        return True

    async def follow_up_due(self, follow_up: FollowUp, person: str) -> bool:
        if self.down:
            return False
        self.follow_ups.append(follow_up.id)
        return True
