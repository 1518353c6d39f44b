"""Reading a JSON body a channel was sent: the one place every channel parses JSON.

Python's ``json`` leaves two hostile inputs to the caller: nesting deep enough to exhaust the
recursion limit (``RecursionError``, which no ``except ValueError`` catches) and integers longer
than ``sys.get_int_max_str_digits()`` (a ``ValueError`` that would refuse a whole message over
one optional number). Here the first is a :class:`BadJson` like any malformed body, and the
second reads as a float (``inf`` when it is that large), which fields that want a number
treat as out of range.
"""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["MAX_DEPTH", "BadJson", "read_json"]

# No channel's message nests more than three levels; the margin is for fields a bridge adds
# (ignored, never refused) and for the parser's own stack, far below Python's 1,000.
MAX_DEPTH = 64


class BadJson(ValueError):
    """The body cannot be read: ``reason`` for counters, the message for a 400's error text."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_json(body: bytes | str) -> Any:
    """The parsed body; :class:`BadJson` if it is not JSON or nests over ``MAX_DEPTH``."""
    try:
        value = json.loads(body, parse_int=_integer)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError):
        raise BadJson("malformed_json", "body is not valid JSON") from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise _too_deep()
    return value


def _too_deep() -> BadJson:
    return BadJson("too_deep", f"body is nested too deeply (more than {MAX_DEPTH} levels)")


def _integer(digits: str) -> int | float:
    limit = sys.get_int_max_str_digits()
    if limit and len(digits.lstrip("-")) > limit:
        return float(digits)  # never raises: ±inf when out of a float's range
    return int(digits)


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` (iteratively: no recursion)."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
