"""A crisis notice as the outbox worker would build it (a pseudonym, never her name)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.notifiers.notice import NoticeKind, QuotedMessage, StaffNotice
from storage.models import Priority

HER_WORDS = ("我真的撑不下去了", "孩子睡了，我一个人在家", "不想再这样活着")
REASONS = ("不想活", "独处")
PSEUDONYM = "晴天妈妈-7F3A"
ACK_URL = "https://careline.example.org/ack/tok.sig"


def crisis_notice(kind: NoticeKind = NoticeKind.NEW, **changes: object) -> StaffNotice:
    values: dict[str, object] = {
        "kind": kind,
        "priority": Priority.P1,
        "escalation_id": 42,
        "pseudonym": PSEUDONYM,
        "channel": "wechat_mp",
        "risk_level": "high",
        "reasons": REASONS,
        "intent": "crisis_suicide",
        "recent_messages": tuple(
            QuotedMessage(datetime(2026, 3, 9, 13, i, tzinfo=UTC), text)
            for i, text in enumerate(HER_WORDS)
        ),
        "ack_url": ACK_URL,
        "due_at": datetime(2026, 3, 9, 13, 8, tzinfo=UTC),
        "notice_id": "notice-42-1-li",
    }
    values.update(changes)
    return StaffNotice(**values)  # type: ignore[arg-type]
