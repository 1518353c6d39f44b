"""E-mail over SMTP with STARTTLS (or implicit TLS on port 465), through aiosmtplib.

The connection must be encrypted before the password or the notice is sent: with
``security="starttls"`` a server that does not offer STARTTLS is a permanent failure, never a
plain-text fallback. SMTP 4xx replies and lost connections are retryable, 5xx are not.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal
from zoneinfo import ZoneInfo

import aiosmtplib

from bot.notifiers.base import DeliveryResult
from bot.notifiers.notice import StaffNotice
from bot.notifiers.render import SHANGHAI, render_plain, render_subject
from bot.roster.config import SocialWorker

__all__ = ["SmtpSender"]


class SmtpSender:
    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        username: str | None = None,
        password: str | None = None,
        security: Literal["starttls", "tls"] = "starttls",
        tls_context: ssl.SSLContext | None = None,
        timeout: float = 15.0,
        zone: ZoneInfo = SHANGHAI,
    ) -> None:
        self._host = host
        self._port = port
        self._from = from_address
        self._username = username
        self._password = password
        self._security = security
        self._tls_context = tls_context or ssl.create_default_context()
        self._timeout = timeout
        self._zone = zone

    def message(self, notice: StaffNotice, person: SocialWorker) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = person.email or ""
        message["Subject"] = render_subject(notice)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self._from.rpartition("@")[2] or None)
        message.set_content(render_plain(notice, self._zone))
        return message

    async def send(self, notice: StaffNotice, person: SocialWorker) -> DeliveryResult:
        if not person.email:
            return DeliveryResult.give_up(self.name, "no e-mail address")
        try:
            await aiosmtplib.send(
                self.message(notice, person),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                tls_context=self._tls_context,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            return DeliveryResult.give_up(self.name, "recipient refused")
        except aiosmtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.code}"
            return DeliveryResult.failed(self.name, reason, retryable=400 <= exc.code < 500)
        except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected) as exc:
            return DeliveryResult.retry(self.name, type(exc).__name__)
        except aiosmtplib.SMTPConnectError as exc:
            return DeliveryResult.retry(self.name, f"connection failed ({type(exc).__name__})")
        except aiosmtplib.SMTPException as exc:  # e.g. STARTTLS not offered: a setup problem
            return DeliveryResult.give_up(self.name, type(exc).__name__)
        except (ssl.SSLError, OSError) as exc:
            return DeliveryResult.retry(self.name, f"connection failed ({type(exc).__name__})")
        return DeliveryResult.ok(self.name)
