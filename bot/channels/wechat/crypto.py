"""WeChat / WeCom callback signatures and message encryption ("safe mode").

Protocol pages:
- Official Account, 消息加解密说明:
  https://developers.weixin.qq.com/doc/subscription/guide/dev/push/encryption
- Mini Program 消息推送 (same scheme, JSON bodies):
  https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
- WeCom, 加解密方案说明: https://developer.work.weixin.qq.com/document/path/90968

Plaintext layout: 16 random bytes + 4-byte big-endian length + msg + receive id, PKCS#7-padded
to 32-byte blocks, AES-256-CBC with key = b64decode(EncodingAESKey + "=") and IV = key[:16].
The receive id is the AppID (Official Account / Mini Program) or the CorpID (WeCom).

Unpadding here is strict on purpose (pad 1-32, every pad byte equal, 32-byte blocks, length
field in bounds, exact receive id): a lax unpadder accepts malformed ciphertexts and hides
bugs in our own output. Callers must check the signature *before* decrypting (the
``*_message`` helpers and ``verify_url`` do), so the distinct decryption errors are never an
oracle for an unauthenticated client; adapters should still answer every failure without detail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "BLOCK_SIZE",
    "DecryptError",
    "EncryptedMessage",
    "InvalidEncodingAESKey",
    "InvalidSignature",
    "ReceiveIdMismatch",
    "WeChatCrypto",
    "WeChatCryptoError",
    "check_signature",
    "make_signature",
    "signatures_equal",
]

BLOCK_SIZE = 32  # WeChat's PKCS#7 block size, not AES's 16
RANDOM_PREFIX_SIZE = 16
LENGTH_FIELD_SIZE = 4
ENCODING_AES_KEY_LENGTH = 43


class WeChatCryptoError(Exception):
    """Base class of every signature / encryption failure."""


class InvalidSignature(WeChatCryptoError):
    """``signature`` or ``msg_signature`` does not match."""


class DecryptError(WeChatCryptoError):
    """Ciphertext is not valid base64, not block-aligned, badly padded or truncated."""


class ReceiveIdMismatch(WeChatCryptoError):
    """Decrypted fine, but was encrypted for another AppID / CorpID."""


class InvalidEncodingAESKey(WeChatCryptoError, ValueError):
    """The configured EncodingAESKey is not 43 base64 characters encoding 32 bytes."""


def make_signature(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """SHA-1 hex of the sorted, concatenated parts.

    With no extra part this is the plain ``signature``; with ``Encrypt`` (or WeCom's encrypted
    ``echostr``) as extra part it is ``msg_signature``.
    """
    parts = sorted([token, timestamp, nonce, *extra])
    # surrogatepass: a hostile query string must give a mismatch, not a UnicodeEncodeError.
    return hashlib.sha1("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def signatures_equal(expected: str, received: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII garbage in ``received``."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), received.encode("utf-8", "surrogatepass")
    )


def check_signature(token: str, signature: str, timestamp: str, nonce: str, *extra: str) -> None:
    """Raise :class:`InvalidSignature` unless ``signature`` signs the given parts."""
    if not signatures_equal(make_signature(token, timestamp, nonce, *extra), signature):
        raise InvalidSignature("signature mismatch")


def _decode_aes_key(encoding_aes_key: str) -> bytes:
    if not isinstance(encoding_aes_key, str) or len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
        raise InvalidEncodingAESKey(
            "EncodingAESKey must be exactly 43 characters (as shown in the WeChat console)"
        )
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidEncodingAESKey(
            "EncodingAESKey must contain only base64 characters (A-Z, a-z, 0-9, +, /)"
        ) from None
    if len(key) != 32:  # pragma: no cover - 43 valid chars + "=" always decode to 32 bytes
        raise InvalidEncodingAESKey("EncodingAESKey must decode to 32 bytes")
    return key


@dataclass(frozen=True, slots=True)
class EncryptedMessage:
    """The four fields of an encrypted passive reply envelope."""

    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str


class WeChatCrypto:
    """Signs, encrypts and decrypts for one account (Official Account, Mini Program or WeCom app).

    ``receive_id`` is the AppID for an Official Account / Mini Program, the CorpID for WeCom.
    """

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if not token:
            raise ValueError("token must not be empty")
        if not receive_id:
            raise ValueError("receive_id (AppID or CorpID) must not be empty")
        self.token = token
        self.receive_id = receive_id
        self._receive_id_bytes = receive_id.encode("utf-8")
        self._key = _decode_aes_key(encoding_aes_key)
        self._iv = self._key[:16]

    # -- signatures -------------------------------------------------------------------------

    def check_signature(self, signature: str, timestamp: str, nonce: str) -> None:
        """Plain ``signature`` (GET URL check and plain-mode POST)."""
        check_signature(self.token, signature, timestamp, nonce)

    def check_msg_signature(
        self, msg_signature: str, timestamp: str, nonce: str, encrypt: str
    ) -> None:
        """``msg_signature`` over token, timestamp, nonce and the ciphertext."""
        check_signature(self.token, msg_signature, timestamp, nonce, encrypt)

    # -- raw encryption ---------------------------------------------------------------------

    def encrypt(self, msg: str, *, random_prefix: bytes | str | None = None) -> str:
        """Encrypt ``msg`` to base64. ``random_prefix`` (16 bytes) is for reproducible tests."""
        prefix = os.urandom(RANDOM_PREFIX_SIZE) if random_prefix is None else random_prefix
        if isinstance(prefix, str):
            prefix = prefix.encode("utf-8")
        if len(prefix) != RANDOM_PREFIX_SIZE:
            raise ValueError("random_prefix must be exactly 16 bytes")
        body = msg.encode("utf-8")
        plain = (
            prefix + len(body).to_bytes(LENGTH_FIELD_SIZE, "big") + body + self._receive_id_bytes
        )
        pad = BLOCK_SIZE - len(plain) % BLOCK_SIZE
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypt_b64: str) -> str:
        """Decrypt a base64 ``Encrypt`` (or WeCom ``echostr``) value to the inner message."""
        try:
            ciphertext = base64.b64decode(encrypt_b64, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("ciphertext is not valid base64") from None
        if not ciphertext or len(ciphertext) % BLOCK_SIZE:
            raise DecryptError("ciphertext length is not a multiple of 32 bytes")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(ciphertext) + decryptor.finalize()
        content = _strip_padding(plain)
        if len(content) < RANDOM_PREFIX_SIZE + LENGTH_FIELD_SIZE:
            raise DecryptError("plaintext too short")
        start = RANDOM_PREFIX_SIZE + LENGTH_FIELD_SIZE
        length = int.from_bytes(content[RANDOM_PREFIX_SIZE:start], "big")
        if length > len(content) - start:
            raise DecryptError("length field exceeds the plaintext")
        body, receive_id = content[start : start + length], content[start + length :]
        if not hmac.compare_digest(receive_id, self._receive_id_bytes):
            raise ReceiveIdMismatch("message was encrypted for another AppID/CorpID")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptError("message is not valid UTF-8") from None

    # -- signed helpers used by the callbacks -------------------------------------------------

    def decrypt_message(
        self, encrypt: str, *, msg_signature: str, timestamp: str, nonce: str
    ) -> str:
        """Verify ``msg_signature`` over ``encrypt``, then decrypt it (safe-mode POST body)."""
        self.check_msg_signature(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def verify_url(self, *, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """WeCom URL verification: the encrypted ``echostr`` is signed; answer its plaintext.

        ``echostr`` must already be URL-decoded by a real query parser (``+`` is not a space).
        """
        return self.decrypt_message(
            echostr, msg_signature=msg_signature, timestamp=timestamp, nonce=nonce
        )

    def encrypt_message(
        self,
        msg: str,
        *,
        timestamp: str,
        nonce: str,
        random_prefix: bytes | str | None = None,
    ) -> EncryptedMessage:
        """Encrypt and sign a passive reply; render it with ``xml.build_encrypted_envelope``."""
        encrypt = self.encrypt(msg, random_prefix=random_prefix)
        return EncryptedMessage(
            encrypt=encrypt,
            msg_signature=make_signature(self.token, timestamp, nonce, encrypt),
            timestamp=timestamp,
            nonce=nonce,
        )

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._iv))


def _strip_padding(plain: bytes) -> bytes:
    """Strict PKCS#7 unpadding for 32-byte blocks."""
    pad = plain[-1]
    if not 1 <= pad <= BLOCK_SIZE or pad > len(plain):
        raise DecryptError("invalid padding")
    # Compare all pad bytes without early exit; the check runs after signature verification,
    # but there is no reason to hand out a timing side channel anyway.
    if not hmac.compare_digest(plain[-pad:], bytes([pad]) * pad):
        raise DecryptError("invalid padding")
    return plain[:-pad]
