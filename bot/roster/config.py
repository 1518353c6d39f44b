"""The ``roster:`` section of config.yml: social workers, weekly shifts, overrides, leave.

Times are local wall-clock times in ``service.timezone``. A shift whose end is not after its
start crosses midnight (22:00–08:00 ends the next morning; 08:00–08:00 is 24 hours). A dated
override replaces the weekly shifts for its own window; leave takes a worker off whole local
days (first_day to last_day, both included).
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = [
    "WEEKDAYS",
    "Leave",
    "Override",
    "RosterConfig",
    "Shift",
    "SocialWorker",
    "Weekday",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _wall_clock(value: Any) -> Any:
    # YAML 1.1 reads an unquoted 20:00 as the base-60 integer 1200; take it back as a time.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    return value


WallClock = Annotated[time, BeforeValidator(_wall_clock)]
WorkerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SocialWorker(_Strict):
    id: WorkerId
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9 -]{4,19}$")
    wecom_userid: str | None = Field(None, min_length=1, max_length=64)
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Shift(_Strict):
    """A weekly shift, starting on each of ``days`` at ``start`` local time."""

    days: list[Weekday] = Field(min_length=1)
    start: WallClock
    end: WallClock
    primary: WorkerId
    backup: WorkerId | None = None


class Override(_Strict):
    """A one-off shift starting on ``date``; during it the weekly shifts do not apply."""

    date: date
    start: WallClock
    end: WallClock
    primary: WorkerId
    backup: WorkerId | None = None


class Leave(_Strict):
    worker: WorkerId
    first_day: date
    last_day: date

    @model_validator(mode="after")
    def _ordered(self) -> Leave:
        if self.last_day < self.first_day:
            raise ValueError("last_day is before first_day")
        return self


class RosterConfig(_Strict):
    workers: list[SocialWorker] = []
    shifts: list[Shift] = []
    overrides: list[Override] = []
    leave: list[Leave] = []
    supervisors: list[WorkerId] = []
    # A gap starting within this many hours (or happening now) is told to the supervisors.
    gap_alert_hours: float = Field(24, gt=0, le=24 * 14)

    @model_validator(mode="after")
    def _references_are_workers(self) -> RosterConfig:
        ids = [w.id for w in self.workers]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"worker id listed twice: {', '.join(duplicates)}")
        known = set(ids)
        for where, slots in (("shifts", self.shifts), ("overrides", self.overrides)):
            for index, slot in enumerate(slots):
                for role in ("primary", "backup"):
                    who = getattr(slot, role)
                    if who is not None and who not in known:
                        raise ValueError(f"{where}[{index}].{role}: no worker {who!r}")
                if slot.backup == slot.primary:
                    raise ValueError(f"{where}[{index}]: backup is the primary")
        for index, leave in enumerate(self.leave):
            if leave.worker not in known:
                raise ValueError(f"leave[{index}].worker: no worker {leave.worker!r}")
        for who in self.supervisors:
            if who not in known:
                raise ValueError(f"supervisors: no worker {who!r}")
        return self

    def worker(self, worker_id: str) -> SocialWorker:
        found = next((w for w in self.workers if w.id == worker_id), None)
        if found is None:
            raise KeyError(worker_id)
        return found
