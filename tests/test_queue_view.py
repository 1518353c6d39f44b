"""What the queue shows of an escalation and which moves each role is offered (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.web.access import StaffMember
from bot.web.queue_view import duration, may_resolve, may_take, queue_item
from storage.models import Escalation, EscalationStatus, Role
from storage.queries import QueueRow

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CHEN = StaffMember(1, "sw-chen", "陈晓", Role.SOCIAL_WORKER)
LIN = StaffMember(2, "sw-lin", "林芳", Role.SOCIAL_WORKER)
LIANG = StaffMember(3, "sup-liang", "梁督导", Role.SUPERVISOR)


def escalation(status: EscalationStatus, taken_by: str | None = None, **kw) -> Escalation:  # type: ignore[no-untyped-def]
    return Escalation(
        id=7,
        person_id=3,
        message_id=11,
        priority="P1",
        reason="想要轻生；风险：高",
        risk_level="high",
        status=status,
        taken_by=taken_by,
        created_at=kw.get("created_at", NOW - timedelta(minutes=12)),
        updated_at=NOW,
        sla_deadline=kw.get("sla_deadline", NOW + timedelta(minutes=3)),
    )


@pytest.mark.parametrize(
    ("span", "reads"),
    [
        (timedelta(seconds=59), "0 分钟"),
        (timedelta(minutes=59), "59 分钟"),
        (timedelta(hours=2, minutes=5), "2 小时 5 分钟"),
        (timedelta(days=3, hours=4), "3 天 4 小时"),
    ],
)
def test_a_span_reads_in_minutes_then_hours_then_days(span: timedelta, reads: str) -> None:
    assert duration(span) == reads


def test_an_untaken_escalation_is_offered_to_take_and_only_a_supervisor_may_close_it() -> None:
    open_one = escalation(EscalationStatus.NOTIFIED)
    assert may_take(open_one)
    assert not may_resolve(CHEN, open_one)
    assert may_resolve(LIANG, open_one)


def test_a_taken_escalation_is_closed_by_its_taker_or_a_supervisor() -> None:
    hers = escalation(EscalationStatus.ACKNOWLEDGED, taken_by="sw-chen")
    assert not may_take(hers)
    assert may_resolve(CHEN, hers)
    assert not may_resolve(LIN, hers)
    assert may_resolve(LIANG, hers)
    closed = escalation(EscalationStatus.RESOLVED, taken_by="sw-chen")
    assert not may_take(closed) and not may_resolve(LIANG, closed)


def test_the_item_counts_waiting_and_overdue_time_from_now() -> None:
    row = QueueRow(
        escalation(
            EscalationStatus.ACKNOWLEDGED,
            taken_by="sw-lin",
            sla_deadline=NOW - timedelta(minutes=4),
        ),
        "M-ABC234",
        "hotline",
        ("有具体计划",),
    )
    item = queue_item(row, CHEN, now=NOW, zone=SHANGHAI, names={"sw-lin": "林芳"})
    assert (item.waiting, item.sla, item.overdue) == ("12 分钟", "已超时 4 分钟", True)
    assert (item.taken_by_name, item.mine, item.channel_label) == ("林芳", False, "关爱热线")
    assert item.due_local == "03月09日 09:56"
    mine = queue_item(row, LIN, now=NOW, zone=SHANGHAI, names={"sw-lin": "林芳"})
    assert (mine.taken_by_name, mine.mine, mine.can_resolve) == ("你", True, True)
