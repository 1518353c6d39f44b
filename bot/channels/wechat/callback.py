"""Verify and open WeChat / WeCom callback requests, and seal passive replies.

Ties ``crypto``, ``xml`` and ``replay`` together in the order that matters: the signature first
(nothing of a forged request is decrypted or remembered), then the replay guard (which asks the
database), then decryption and parsing. Framework-free (a query mapping and the raw body in,
fields out), so the aiohttp adapters stay thin. Every failure is one :class:`CallbackRejected`
with the HTTP status to answer (no detail in the body) and a short stable ``reason`` for the
rejection counter and the single log line.

Protocol pages:
- OA access and plain mode: https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
- OA safe / compatibility mode: https://developers.weixin.qq.com/doc/subscription/guide/dev/push/encryption
- WeCom callback (URL check with encrypted echostr): https://developer.work.weixin.qq.com/document/path/90930
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.channels.wechat.crypto import (
    DecryptError,
    InvalidSignature,
    ReceiveIdMismatch,
    WeChatCrypto,
    check_signature,
)
from bot.channels.wechat.replay import ReplayGuard, ReplayRejected, Ticket
from bot.channels.wechat.xml import XmlError, XmlFields, build_encrypted_envelope, parse_xml

__all__ = ["CallbackRejected", "CallbackVerifier", "InboundMessage"]

FORBIDDEN = 403
BAD_REQUEST = 400


class CallbackRejected(Exception):
    """Answer ``status`` with no detail; count and log ``reason`` once."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A verified callback message. In safe mode ``fields`` are the decrypted inner fields."""

    fields: XmlFields
    encrypted: bool
    timestamp: str
    nonce: str
    ticket: Ticket  # what the replay guard let in; released if the message is not stored


class CallbackVerifier:
    """One callback endpoint: an Official Account or a WeCom app.

    With ``crypto`` every POST must be encrypted (WeCom always is; an Official Account in safe
    or compatibility mode sends ``encrypt_type=aes``), because a plain-mode signature does not
    cover the body. Without ``crypto`` the endpoint is in plain mode.
    """

    def __init__(
        self, *, token: str, guard: ReplayGuard, crypto: WeChatCrypto | None = None
    ) -> None:
        if not token:
            raise ValueError("token must not be empty")
        if crypto is not None and crypto.token != token:
            raise ValueError("crypto was built with another token")
        self._token = token
        self._guard = guard
        self._crypto = crypto

    # -- GET: URL verification --------------------------------------------------------------

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The body to answer a GET URL check.

        Official Account: plain ``signature`` over token/timestamp/nonce, answer ``echostr``
        verbatim. WeCom: ``msg_signature`` covers the encrypted ``echostr``; answer its
        plaintext. ``query`` must come from a real query parser (``+`` is not a space).
        """
        timestamp, nonce = _required(query, "timestamp"), _required(query, "nonce")
        echostr = _required(query, "echostr")
        if "msg_signature" in query and self._crypto is not None:
            try:
                return self._crypto.verify_url(
                    msg_signature=query["msg_signature"],
                    timestamp=timestamp,
                    nonce=nonce,
                    echostr=echostr,
                )
            except InvalidSignature:
                raise CallbackRejected(FORBIDDEN, "bad_signature") from None
            except ReceiveIdMismatch:
                raise CallbackRejected(FORBIDDEN, "wrong_receive_id") from None
            except DecryptError:
                raise CallbackRejected(BAD_REQUEST, "undecryptable") from None
        self._check_plain_signature(query, timestamp, nonce)
        return echostr

    # -- POST: messages and events ----------------------------------------------------------

    async def open(self, query: Mapping[str, str], body: bytes | str) -> InboundMessage:
        """Verify, replay-check, decrypt and parse one POSTed message."""
        timestamp, nonce = _required(query, "timestamp"), _required(query, "nonce")
        encrypt_type = query.get("encrypt_type")
        if encrypt_type not in (None, "raw", "aes"):
            raise CallbackRejected(BAD_REQUEST, "unknown_encrypt_type")
        if self._crypto is None:
            if encrypt_type == "aes":
                raise CallbackRejected(BAD_REQUEST, "encryption_not_configured")
            signature = self._check_plain_signature(query, timestamp, nonce)
            ticket = await self._check_replay(timestamp, nonce, signature, body)
            return InboundMessage(_parse(body), False, timestamp, nonce, ticket)
        if encrypt_type == "raw" or "msg_signature" not in query:
            raise CallbackRejected(FORBIDDEN, "encryption_required")
        # The signature covers Encrypt, so the outer XML is parsed before it can be checked.
        # In compatibility mode the outer XML also has plaintext fields: they are never used.
        encrypt = _parse(body).get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise CallbackRejected(BAD_REQUEST, "missing_encrypt")
        try:
            self._crypto.check_msg_signature(query["msg_signature"], timestamp, nonce, encrypt)
        except InvalidSignature:
            raise CallbackRejected(FORBIDDEN, "bad_signature") from None
        ticket = await self._check_replay(timestamp, nonce, query["msg_signature"], body)
        try:
            inner = self._crypto.decrypt(encrypt)
        except ReceiveIdMismatch:
            raise CallbackRejected(FORBIDDEN, "wrong_receive_id") from None
        except DecryptError:
            raise CallbackRejected(BAD_REQUEST, "undecryptable") from None
        return InboundMessage(_parse(inner), True, timestamp, nonce, ticket)

    async def release(self, message: InboundMessage) -> None:
        """Call when an opened message could not be stored: WeChat's retry must get in."""
        await self._guard.release(message.ticket)

    # -- passive reply ----------------------------------------------------------------------

    def seal(
        self,
        reply_xml: str,
        inbound: InboundMessage,
        *,
        timestamp: str,
        nonce: str | None = None,
    ) -> str:
        """The response body for ``reply_xml``: unchanged in plain mode, else encrypted.

        ``timestamp`` is now (epoch seconds); ``nonce`` defaults to the request's, as
        Tencent's samples do.
        """
        if not inbound.encrypted:
            return reply_xml
        assert self._crypto is not None, "an encrypted message implies crypto"
        sealed = self._crypto.encrypt_message(
            reply_xml, timestamp=timestamp, nonce=nonce or inbound.nonce
        )
        return build_encrypted_envelope(
            encrypt=sealed.encrypt,
            msg_signature=sealed.msg_signature,
            timestamp=sealed.timestamp,
            nonce=sealed.nonce,
        )

    # -- helpers ----------------------------------------------------------------------------

    def _check_plain_signature(self, query: Mapping[str, str], timestamp: str, nonce: str) -> str:
        signature = query.get("signature")
        if not signature:
            raise CallbackRejected(FORBIDDEN, "missing_signature")
        try:
            check_signature(self._token, signature, timestamp, nonce)
        except InvalidSignature:
            raise CallbackRejected(FORBIDDEN, "bad_signature") from None
        return signature

    async def _check_replay(
        self, timestamp: str, nonce: str, signature: str, body: bytes | str
    ) -> Ticket:
        try:
            return await self._guard.check(timestamp, nonce, signature=signature, body=body)
        except ReplayRejected as exc:
            raise CallbackRejected(FORBIDDEN, f"replay_{exc.reason}") from None


def _required(query: Mapping[str, str], name: str) -> str:
    value = query.get(name)
    if not value:
        # Every parameter here is signed: without it nothing can be verified.
        raise CallbackRejected(FORBIDDEN, f"missing_{name}")
    return value


def _parse(body: bytes | str) -> XmlFields:
    try:
        return parse_xml(body)
    except XmlError:
        raise CallbackRejected(BAD_REQUEST, "malformed_xml") from None
