"""Field encryption for identities: AES-GCM for the value, a keyed hash to look it up.

Both keys derive from the one ``CARELINE_FIELD_KEY`` with HKDF, so neither is reused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key)


class FieldCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("field key must be 32 bytes")
        self._aead = AESGCM(_derive(key, b"careline/field-encryption/v1"))
        self._hash_key = _derive(key, b"careline/lookup-hash/v1")

    def encrypt(self, value: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), context.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, context: str) -> str:
        raw = base64.urlsafe_b64decode(token.encode())
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, sealed, context.encode()).decode("utf-8")

    def lookup_hash(self, kind: str, value: str) -> str:
        message = f"{kind}\x00{normalise_identity(kind, value)}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()


def normalise_identity(kind: str, value: str) -> str:
    """One spelling per identity, so +86 138-0013-8000 and 13800138000 are the same caller."""
    value = value.strip()
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        if digits.startswith("0086"):
            digits = digits[4:]
        elif digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        return digits
    return value
