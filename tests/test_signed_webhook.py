"""bot.channels.signed_webhook: HMAC over timestamp, nonce and body; window; nonce replay, with
the replay guard's memory in the database (bot.accepted_requests)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.accepted_requests import StoredAcceptedRequests
from bot.channels.signed_webhook import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignedWebhook,
    WebhookRejected,
    check_signature,
    signed_headers,
)
from storage.db import Database

SECRET = "webhook-secret"
NOW = 1_767_225_600
BODY = '{"text": "我好累"}'.encode()


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hook(database: Database) -> SignedWebhook:
    return SignedWebhook(
        SECRET, StoredAcceptedRequests(database), channel="care_group", clock=Clock()
    )


async def reason(hook: SignedWebhook, headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(WebhookRejected) as info:
        await hook.verify(headers, body)
    assert info.value.status == 403
    return info.value.reason


async def test_signature_is_hmac_sha256_of_timestamp_nonce_and_body(hook: SignedWebhook) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0001")
    expected = hmac.new(SECRET.encode(), f"{NOW}\nnonce-0001\n".encode() + BODY, hashlib.sha256)
    assert headers[SIGNATURE_HEADER] == expected.hexdigest()
    accepted = await hook.verify(headers, BODY)
    assert (accepted.timestamp, accepted.nonce) == (str(NOW), "nonce-0001")


async def test_uppercase_hex_is_accepted(hook: SignedWebhook) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0002")
    headers[SIGNATURE_HEADER] = headers[SIGNATURE_HEADER].upper()
    await hook.verify(headers, BODY)


@pytest.mark.parametrize("missing", [TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER])
async def test_a_missing_header_is_refused(hook: SignedWebhook, missing: str) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0003")
    del headers[missing]
    assert await reason(hook, headers) == "missing_signature"


async def test_other_body_secret_nonce_or_timestamp_breaks_the_signature(
    hook: SignedWebhook,
) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0004")
    assert await reason(hook, headers, BODY + b" ") == "bad_signature"
    assert await reason(hook, headers | {NONCE_HEADER: "nonce-0005"}) == "bad_signature"
    assert await reason(hook, headers | {TIMESTAMP_HEADER: str(NOW + 1)}) == "bad_signature"
    other = signed_headers("other-secret", BODY, timestamp=NOW, nonce="nonce-0006")
    assert await reason(hook, other) == "bad_signature"
    assert await reason(hook, headers | {SIGNATURE_HEADER: "\udcff" * 64}) == "bad_signature"


async def test_timestamps_more_than_five_minutes_off_are_refused(hook: SignedWebhook) -> None:
    stale = signed_headers(SECRET, BODY, timestamp=NOW - 301, nonce="nonce-0007")
    future = signed_headers(SECRET, BODY, timestamp=NOW + 301, nonce="nonce-0008")
    assert await reason(hook, stale) == "replay_stale"
    assert await reason(hook, future) == "replay_future"
    await hook.verify(signed_headers(SECRET, BODY, timestamp=NOW - 299, nonce="nonce-0009"), BODY)


async def test_the_very_same_request_again_is_a_retry_and_gets_in(hook: SignedWebhook) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0010")
    first = await hook.verify(headers, BODY)
    retry = await hook.verify(headers, BODY)
    assert first.ticket.first and not retry.ticket.first


async def test_a_nonce_reused_for_another_body_is_refused_unless_released(
    hook: SignedWebhook,
) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0011")
    accepted = await hook.verify(headers, BODY)
    other = b'{"text": "another"}'
    other_headers = signed_headers(SECRET, other, timestamp=NOW, nonce="nonce-0011")
    assert await reason(hook, other_headers, other) == "replay_reused_nonce"
    await hook.release(accepted)  # it could not be stored: the sender's retry must get in
    await hook.verify(other_headers, other)


async def test_a_short_nonce_is_refused(hook: SignedWebhook) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="1234567")
    assert await reason(hook, headers) == "replay_bad_nonce"


async def test_an_empty_secret_is_a_configuration_error(database: Database) -> None:
    with pytest.raises(ValueError):
        SignedWebhook("", StoredAcceptedRequests(database), channel="care_group")


def test_the_signature_alone_can_be_checked_without_the_replay_guard() -> None:
    headers = signed_headers(SECRET, BODY, timestamp=NOW, nonce="nonce-0012")
    assert check_signature(SECRET, headers, BODY).nonce == "nonce-0012"
    with pytest.raises(WebhookRejected) as info:
        check_signature(SECRET, headers, BODY + b" ")
    assert info.value.reason == "bad_signature"
