"""Fields every channel's body shares, checked the same way at each edge."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    # PostgreSQL stores no NUL: an id holding one would be refused by the database on every
    # resend (a 503 forever, the message never stored). No other control character belongs in
    # an id either.
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


# An id another system gives: a call, a group, a message, a sender, a line, an agent.
ExternalId = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_printable)]
ShortExternalId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable)]
