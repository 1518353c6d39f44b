"""Fields every channel's body shares, checked the same way at each edge."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from bot.message import has_control_characters


def _printable(value: str) -> str:
    # An id with a NUL would be refused by PostgreSQL on every resend (a 503 forever, the
    # message never stored): a 400 now says what is wrong.
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


# An id another system gives: a call, a group, a message, a sender, a line, an agent.
ExternalId = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_printable)]
ShortExternalId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable)]
