"""What the call system posts: one call, as far as it has been transcribed."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.channels.fields import ExternalId, ShortExternalId
from bot.message import MAX_TEXT_CHARS, check_sent_at

# A three-hour call at one segment every five seconds.
MAX_SEGMENTS = 2000
# A segment's start and end are seconds from the call's start: at most a day.
MAX_OFFSET_SECONDS = 24 * 3600
_PHONE_CHARS = re.compile(r"[0-9+()\- ]+")

Speaker = Literal["caller", "agent", "ivr"]


class Segment(BaseModel):
    # Extra fields are ignored: a call system that adds one must not lose a mother's words.
    model_config = ConfigDict(extra="ignore", frozen=True)

    speaker: Speaker
    start: float = Field(ge=0, le=MAX_OFFSET_SECONDS, allow_inf_nan=False)
    end: float = Field(ge=0, le=MAX_OFFSET_SECONDS, allow_inf_nan=False)
    # May be empty (a silence). Pydantic refuses a lone surrogate ("\ud800"): not storable.
    text: str = Field(max_length=MAX_TEXT_CHARS)
    confidence: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.end < self.start:
            raise ValueError("a segment must not end before it starts")
        return self


class Transcript(BaseModel):
    """One call. While it is in progress the call system may post it again and again, each
    time with every segment so far in the same order; the final one is the whole call."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    call_id: ExternalId
    # Her phone number, in any spelling; null (or absent, or "") when she withheld it.
    caller: str | None = Field(default=None, max_length=32)
    line: ShortExternalId
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    agent_id: ShortExternalId | None = None
    status: Literal["in_progress", "final"]
    segments: list[Segment] = Field(max_length=MAX_SEGMENTS)

    @field_validator("caller")
    @classmethod
    def _a_phone_number(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _PHONE_CHARS.fullmatch(value) or sum(c.isdigit() for c in value) < 3:
            raise ValueError("caller must be a phone number, or null when withheld")
        return value

    @field_validator("started_at", "ended_at")
    @classmethod
    def _a_real_time(cls, value: datetime | None) -> datetime | None:
        return check_sent_at(value) if value is not None else None

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at must not be before started_at")
        if self.final and self.ended_at is None:
            raise ValueError("a final transcript needs ended_at")
        return self

    @property
    def final(self) -> bool:
        return self.status == "final"


def where_wrong(exc: ValidationError) -> str:
    """Where a transcript is wrong, never the value it held (it may be her words or number)."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"
