"""bot.channels.signed_webhook: HMAC over timestamp, nonce and body; window; nonce replay."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.channels.signed_webhook import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignedWebhook,
    WebhookRejected,
    signed_headers,
)

SECRET = "webhook-secret"
NOW = 1_767_225_600
BODY = '{"text": "我好累"}'.encode()


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def webhook(clock: Clock | None = None) -> SignedWebhook:
    return SignedWebhook(SECRET, clock=clock or Clock())


def reason(hook: SignedWebhook, headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(WebhookRejected) as info:
        hook.verify(headers, body)
    assert info.value.status == 403
    return info.value.reason


def test_signature_is_hmac_sha256_of_timestamp_nonce_and_body() -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0001")
    expected = hmac.new(SECRET.encode(), f"{NOW}\nnonce-0001\n".encode() + BODY, hashlib.sha256)
    assert headers[SIGNATURE_HEADER] == expected.hexdigest()
    accepted = webhook().verify(headers, BODY)
    assert (accepted.timestamp, accepted.nonce) == (str(NOW), "nonce-0001")


def test_uppercase_hex_is_accepted() -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0002")
    headers[SIGNATURE_HEADER] = headers[SIGNATURE_HEADER].upper()
    webhook().verify(headers, BODY)


@pytest.mark.parametrize("missing", [TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER])
def test_a_missing_header_is_refused(missing: str) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0003")
    del headers[missing]
    assert reason(webhook(), headers) == "missing_signature"


def test_other_body_secret_nonce_or_timestamp_breaks_the_signature() -> None:
    hook = webhook()
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0004")
    assert reason(hook, headers, BODY + b" ") == "bad_signature"
    assert reason(hook, headers | {NONCE_HEADER: "nonce-0005"}) == "bad_signature"
    assert reason(hook, headers | {TIMESTAMP_HEADER: str(NOW + 1)}) == "bad_signature"
    other = signed_headers("other-secret", BODY, timestamp=NOW, nonce="nonce-0006")
    assert reason(hook, other) == "bad_signature"
    assert reason(hook, headers | {SIGNATURE_HEADER: "\udcff" * 64}) == "bad_signature"


def test_timestamps_more_than_five_minutes_off_are_refused() -> None:
    hook = webhook()
    stale = signed_headers(SECRET, BODY, timestamp=NOW - 301, nonce="nonce-0007")
    future = signed_headers(SECRET, BODY, timestamp=NOW + 301, nonce="nonce-0008")
    assert reason(hook, stale) == "replay_stale"
    assert reason(hook, future) == "replay_future"
    hook.verify(signed_headers(SECRET, BODY, timestamp=NOW - 299, nonce="nonce-0009"), BODY)


def test_a_reused_nonce_is_refused_unless_released() -> None:
    hook = webhook()
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0010")
    accepted = hook.verify(headers, BODY)
    assert reason(hook, headers) == "replay_reused_nonce"
    hook.release(accepted)  # it could not be stored: the sender's retry must get in
    hook.verify(headers, BODY)


def test_a_short_nonce_is_refused() -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="1234567")
    assert reason(webhook(), headers) == "replay_bad_nonce"


def test_an_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        SignedWebhook("")
