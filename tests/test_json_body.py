"""Reading JSON bodies: hostile nesting and numbers are a BadJson or a value, never a crash."""

from __future__ import annotations

import math

import pytest

from bot.channels.json_body import MAX_DEPTH, BadJson, read_json


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_an_ordinary_body_reads_as_python_values() -> None:
    body = '{"text": "我好累", "mentions": ["a"], "time": 1767225600.5, "n": null}'
    assert read_json(body.encode()) == {
        "text": "我好累",
        "mentions": ["a"],
        "time": 1767225600.5,
        "n": None,
    }


def test_nesting_up_to_the_limit_is_read() -> None:
    assert read_json(nested(MAX_DEPTH))  # a non-empty list


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 20_000])
def test_nesting_past_the_limit_or_the_recursion_limit_is_too_deep(depth: int) -> None:
    with pytest.raises(BadJson, match="nested too deeply") as info:
        read_json(nested(depth).encode())
    assert info.value.reason == "too_deep"


def test_deep_nesting_inside_an_object_is_too_deep() -> None:
    with pytest.raises(BadJson) as info:
        read_json('{"ok": 1, "extra": {"a": ' + nested(MAX_DEPTH) + "}}")
    assert info.value.reason == "too_deep"


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\xfd", b"", b'{"a": 1,}'])
def test_what_is_not_json_is_malformed(body: bytes) -> None:
    with pytest.raises(BadJson, match="body is not valid JSON") as info:
        read_json(body)
    assert info.value.reason == "malformed_json"


def test_an_integer_past_pythons_digit_limit_reads_as_infinity_not_an_error() -> None:
    assert read_json(b'{"time": ' + b"9" * 5_000 + b"}")["time"] == math.inf
    assert read_json(b"-" + b"9" * 5_000) == -math.inf
    assert read_json(b"9" * 400) == int("9" * 400)  # within the limit: still an exact integer
