"""The acknowledgement form's CSRF value: bound to the cookie's nonce, the link and the key."""

from __future__ import annotations

import pytest

from bot.web import csrf

SECRET = "ack-" + "k" * 40
LINK = "payload.signature"


def test_the_value_made_for_a_nonce_and_link_is_valid() -> None:
    nonce = csrf.new_nonce()
    assert csrf.valid(SECRET, nonce, LINK, csrf.form_value(SECRET, nonce, LINK))


@pytest.mark.parametrize(
    ("nonce", "link", "secret"),
    [
        ("another-nonce", LINK, SECRET),
        ("the-nonce", "another.link", SECRET),
        ("the-nonce", LINK, "another-secret"),
    ],
)
def test_a_value_made_for_anything_else_is_refused(nonce: str, link: str, secret: str) -> None:
    given = csrf.form_value(secret, nonce, link)
    assert not csrf.valid(SECRET, "the-nonce", LINK, given)


@pytest.mark.parametrize("given", [None, "", "zz", "é" * 64])
def test_a_missing_or_garbled_value_is_refused(given: str | None) -> None:
    assert not csrf.valid(SECRET, "the-nonce", LINK, given)


def test_a_missing_or_oversized_nonce_is_refused() -> None:
    for nonce in (None, "", "n" * (csrf.MAX_NONCE_LENGTH + 1)):
        assert not csrf.valid(SECRET, nonce, LINK, csrf.form_value(SECRET, nonce or "", LINK))


def test_nonces_are_fresh_each_time() -> None:
    assert len({csrf.new_nonce() for _ in range(50)}) == 50
