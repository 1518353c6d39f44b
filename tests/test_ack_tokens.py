from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.web.ack_tokens import (
    AckTokenError,
    ack_url,
    make_ack_token,
    verify_ack_token,
)

SECRET = "ack-secret-for-tests-0123456789"
NOW = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)


def token(**overrides: object) -> str:
    values: dict[str, object] = {
        "escalation_id": 42,
        "recipient_id": "sw-wang",
        "expires_at": NOW + timedelta(minutes=30),
    }
    values.update(overrides)
    return make_ack_token(SECRET, **values)  # type: ignore[arg-type]


def reason(secret: str, value: str, *, now: datetime = NOW, purpose: str = "ack") -> str:
    with pytest.raises(AckTokenError) as caught:
        verify_ack_token(secret, value, now=now, purpose=purpose)
    return caught.value.reason


def test_a_fresh_token_names_its_escalation_recipient_and_expiry() -> None:
    claims = verify_ack_token(SECRET, token(), now=NOW)
    assert (claims.escalation_id, claims.recipient_id, claims.purpose) == (42, "sw-wang", "ack")
    assert claims.expires_at == NOW + timedelta(minutes=30)
    assert claims.token_id


def test_each_recipient_gets_a_different_token() -> None:
    a, b = token(recipient_id="sw-wang"), token(recipient_id="sw-li")
    assert a != b
    assert verify_ack_token(SECRET, b, now=NOW).recipient_id == "sw-li"


def test_token_expires_at_its_expiry_not_before() -> None:
    value = token()
    assert verify_ack_token(SECRET, value, now=NOW + timedelta(minutes=29, seconds=59))
    assert reason(SECRET, value, now=NOW + timedelta(minutes=30)) == "expired"


def test_another_secret_makes_it_forged() -> None:
    assert reason("another-secret-entirely-0123456", token()) == "forged"


def test_changing_the_recipient_in_the_payload_makes_it_forged() -> None:
    import base64
    import json

    payload, signature = token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["r"] = "sw-intruder"
    claims["x"] += 3600
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert reason(SECRET, f"{tampered}.{signature}") == "forged"


def test_an_expired_forgery_is_reported_as_forged_not_expired() -> None:
    value = token(expires_at=NOW - timedelta(hours=1))
    assert reason("another-secret-entirely-0123456", value) == "forged"


def test_a_token_for_another_purpose_is_refused() -> None:
    assert reason(SECRET, token(purpose="handback")) == "wrong_purpose"
    assert verify_ack_token(SECRET, token(purpose="handback"), now=NOW, purpose="handback")


@pytest.mark.parametrize(
    "value",
    ["", "no-dot", "a.b.c", "abc.!!!", "x" * 2000, "中文.签名", ".", "e30."],
)
def test_garbage_is_malformed_or_forged_never_an_exception(value: str) -> None:
    assert reason(SECRET, value) in {"malformed", "forged"}


def test_wrong_signature_length_is_forged() -> None:
    payload, _ = token().split(".")
    assert reason(SECRET, f"{payload}.AAAA") == "forged"


def test_naive_expiry_is_refused_when_making() -> None:
    with pytest.raises(ValueError, match="aware"):
        token(expires_at=datetime(2026, 3, 8, 9, 30))


def test_ack_url_joins_base_and_token() -> None:
    value = token()
    assert ack_url("https://careline.example.org/", value) == (
        f"https://careline.example.org/ack/{value}"
    )
    assert "/" not in value and "+" not in value and "=" not in value
