from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag

from storage.fieldcrypt import FieldCipher, normalise_identity


def test_round_trip_with_context() -> None:
    cipher = FieldCipher(os.urandom(32))
    token = cipher.encrypt("13800138000", context="phone")
    assert cipher.decrypt(token, context="phone") == "13800138000"


def test_ciphertext_is_bound_to_its_kind() -> None:
    cipher = FieldCipher(os.urandom(32))
    token = cipher.encrypt("o-abc", context="wechat_openid")
    with pytest.raises(InvalidTag):
        cipher.decrypt(token, context="phone")


def test_same_value_encrypts_differently_but_hashes_the_same() -> None:
    cipher = FieldCipher(os.urandom(32))
    assert cipher.encrypt("x", context="api") != cipher.encrypt("x", context="api")
    assert cipher.lookup_hash("api", "x") == cipher.lookup_hash("api", " x ")


def test_lookup_hash_depends_on_the_key() -> None:
    assert FieldCipher(os.urandom(32)).lookup_hash("phone", "1") != FieldCipher(
        os.urandom(32)
    ).lookup_hash("phone", "1")


@pytest.mark.parametrize(
    "raw", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "(86)13800138000"]
)
def test_phone_spellings_normalise_to_one(raw: str) -> None:
    assert normalise_identity("phone", raw) == "13800138000"


def test_wrong_key_length_rejected() -> None:
    with pytest.raises(ValueError):
        FieldCipher(b"short")
