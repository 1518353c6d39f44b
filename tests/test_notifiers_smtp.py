"""The e-mail sender against a real local SMTP server (aiosmtpd) that requires STARTTLS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from bot.notifiers.base import DeliveryStatus
from bot.notifiers.smtp import SmtpSender
from tests.fakes.staff_receiver import closed_port_url
from tests.notice_fixture import ACK_URL, HER_WORDS, crisis_notice
from tests.roster_fixture import roster
from tests.smtp_server import PASSWORD, USER, Mailbox, smtp_server

LI = roster().worker("li")
SUN = roster().worker("sun")  # no e-mail address


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Controller, Mailbox, Path]]:
    with smtp_server(tmp_path) as running:
        yield running


def sender(port: int, cert: Path | None, **kw: object) -> SmtpSender:
    context = ssl.create_default_context(cafile=str(cert)) if cert else None
    return SmtpSender(
        host="127.0.0.1",
        port=port,
        from_address="careline@example.org",
        username=USER,
        password=kw.pop("password", PASSWORD),  # type: ignore[arg-type]
        tls_context=context,
        timeout=5,
        **kw,  # type: ignore[arg-type]
    )


async def test_mail_goes_out_over_starttls_with_everything_a_worker_needs(
    server: tuple[Controller, Mailbox, Path],
) -> None:
    controller, mailbox, cert = server
    result = await sender(controller.port, cert).send(crisis_notice(), LI)
    assert result.status is DeliveryStatus.DELIVERED, result.reason
    (message,) = mailbox.messages
    assert mailbox.tls_seen == [True]
    assert message["To"] == "li@example.org"
    assert message["Subject"] == "【Careline】P1 紧急 新的求助"
    body = message.get_content()
    assert all(words in body for words in HER_WORDS)
    assert ACK_URL in body


async def test_a_wrong_password_is_a_permanent_failure(
    server: tuple[Controller, Mailbox, Path],
) -> None:
    controller, mailbox, cert = server
    result = await sender(controller.port, cert, password="wrong").send(crisis_notice(), LI)
    assert (result.status, result.reason) == (DeliveryStatus.FAILED_PERMANENT, "SMTP 535")
    assert mailbox.messages == []


async def test_a_refused_recipient_is_permanent(server: tuple[Controller, Mailbox, Path]) -> None:
    controller, mailbox, cert = server
    mailbox.refuse_recipients.add("li@example.org")
    result = await sender(controller.port, cert).send(crisis_notice(), LI)
    assert result.status is DeliveryStatus.FAILED_PERMANENT
    assert mailbox.messages == []


async def test_an_untrusted_certificate_sends_nothing(
    server: tuple[Controller, Mailbox, Path],
) -> None:
    controller, mailbox, _ = server
    result = await sender(controller.port, None).send(crisis_notice(), LI)
    assert not result.delivered
    assert mailbox.messages == []


async def test_a_server_without_starttls_gets_no_password_and_no_mail(tmp_path: Path) -> None:
    with smtp_server(tmp_path, starttls=False) as (controller, mailbox, cert):
        result = await sender(controller.port, cert).send(crisis_notice(), LI)
    assert result.status is DeliveryStatus.FAILED_PERMANENT
    assert mailbox.messages == []


async def test_a_server_that_is_down_is_retryable() -> None:
    port = int(closed_port_url().split(":")[2].split("/")[0])
    result = await sender(port, None).send(crisis_notice(), LI)
    assert result.status is DeliveryStatus.FAILED_RETRYABLE


async def test_a_person_without_an_address_fails_permanently() -> None:
    result = await sender(1, None).send(crisis_notice(), SUN)
    assert (result.status, result.reason) == (DeliveryStatus.FAILED_PERMANENT, "no e-mail address")
