"""deliver(): one person's senders in order, falling back until one delivers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.clock import FixedClock
from bot.notifiers import DeliveryResult, DeliveryStatus, StaffNotice, deliver
from bot.notifiers.sms import SmsGatewaySender
from bot.notifiers.webhook import WebhookSender
from bot.notifiers.wecom_robot import WeComRobotSender
from bot.roster import SocialWorker
from tests.fakes.staff_receiver import StaffReceiver, closed_port_url
from tests.notice_fixture import crisis_notice
from tests.roster_fixture import roster

LI = roster().worker("li")
ZHOU = roster().worker("zhou")  # e-mail only: no phone
T0 = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)


class Broken:
    """A sender with a bug: it raises instead of returning a result."""

    name = "broken"

    async def send(self, notice: StaffNotice, person: SocialWorker) -> DeliveryResult:
        raise KeyError("bug")


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def receiver() -> AsyncIterator[StaffReceiver]:
    async with StaffReceiver() as r:
        yield r


async def test_a_sender_that_is_down_falls_over_to_the_next(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    senders = [
        WeComRobotSender(session, "k", url=closed_port_url()),
        SmsGatewaySender(session, receiver.base_url + "/sms", "s"),
    ]
    report = await deliver(crisis_notice(), LI, senders, clock=FixedClock(T0))
    assert report.status is DeliveryStatus.DELIVERED
    assert report.delivered_by == "sms"
    assert [(a.sender, a.status) for a in report.attempts] == [
        ("wecom_robot", DeliveryStatus.FAILED_RETRYABLE),
        ("sms", DeliveryStatus.DELIVERED),
    ]
    assert all(a.at == T0 for a in report.attempts)
    assert len(receiver.received) == 1


async def test_the_first_sender_that_delivers_is_the_last_one_tried(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    senders = [
        WebhookSender(session, receiver.base_url + "/hook", "s"),
        SmsGatewaySender(session, receiver.base_url + "/sms", "s"),
    ]
    report = await deliver(crisis_notice(), LI, senders)
    assert [a.sender for a in report.attempts] == ["webhook"]
    assert [r.path for r in receiver.received] == ["/hook"]


async def test_all_down_is_retryable(session: aiohttp.ClientSession) -> None:
    senders = [
        SmsGatewaySender(session, closed_port_url(), "s"),
        WebhookSender(session, closed_port_url(), "s"),
    ]
    report = await deliver(crisis_notice(), LI, senders)
    assert report.status is DeliveryStatus.FAILED_RETRYABLE
    assert report.delivered_by is None


async def test_only_permanent_failures_are_permanent(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    report = await deliver(
        crisis_notice(), ZHOU, [SmsGatewaySender(session, receiver.base_url, "s")]
    )
    assert report.status is DeliveryStatus.FAILED_PERMANENT
    assert report.attempts[0].reason == "no phone number"


async def test_a_sender_that_raises_does_not_stop_the_next(
    session: aiohttp.ClientSession, receiver: StaffReceiver
) -> None:
    senders = [Broken(), WebhookSender(session, receiver.base_url + "/hook", "s")]
    report = await deliver(crisis_notice(), LI, senders)
    assert [(a.sender, a.reason) for a in report.attempts] == [
        ("broken", "error (KeyError)"),
        ("webhook", "ok"),
    ]


async def test_no_sender_at_all_is_a_permanent_failure() -> None:
    report = await deliver(crisis_notice(), LI, [])
    assert report.status is DeliveryStatus.FAILED_PERMANENT
    assert report.attempts[0].reason == "no sender configured for this person"


async def test_the_log_never_holds_her_words_or_a_phone(
    session: aiohttp.ClientSession, receiver: StaffReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    senders = [
        WeComRobotSender(session, "k", url=closed_port_url()),
        SmsGatewaySender(session, receiver.base_url + "/sms", "s"),
    ]
    await deliver(crisis_notice(), LI, senders)
    assert caplog.records
    assert "13800000001" not in caplog.text
    assert "撑不下去" not in caplog.text
