"""The care policy's tunable numbers (the ``policy:`` section of config.yml)."""

from __future__ import annotations

from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from storage.models import Priority

NATIONAL_WOMENS_RIGHTS_LINE = "12338"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class PolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sla_minutes: dict[Priority, int] = {Priority.P1: 5, Priority.P2: 30, Priority.P3: 240}
    crisis_check_in_hours: float = Field(24, gt=0, le=24 * 30)
    distress_check_in_hours: float = Field(72, gt=0, le=24 * 30)
    contact_gap_minutes: int = Field(30, ge=0, le=24 * 60)
    # The programme's own 关爱热线 (Jiangmen). The national lines (12338, 12356, 110, 120) are
    # fixed numbers named in handlers/texts.py, never configured here.
    programme_hotline: str = Field("0750-3580580", min_length=3, max_length=20)
    # Check-ins reach mothers only between these local times (a 02:56 message is not answered
    # by a check-in at 02:56 the next night); a callback at the time she asked for is kept.
    check_in_from: time = time(8, 30)
    check_in_until: time = time(21, 0)
    # A check-in she leaves unanswered is followed by another this many hours later; after
    # ``unanswered_check_ins`` of them a P2 "lost contact" escalation asks a person to look.
    check_in_retry_hours: float = Field(24, gt=0, le=24 * 30)
    unanswered_check_ins: int = Field(3, ge=1, le=10)
    # A mother whose messages keep showing distress (classified emotional_distress, or with a
    # risk too low to escalate) this many times within this many days is escalated P2.
    repeated_distress_messages: int = Field(3, ge=2, le=100)
    repeated_distress_days: float = Field(7, gt=0, le=90)
    # P2 escalations page staff in working hours (local time); P1 at once, P3 never (logged).
    working_days: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
    working_from: time = time(8, 30)
    working_until: time = time(17, 30)

    @model_validator(mode="before")
    @classmethod
    def _legacy_hotline_number(cls, data: Any) -> Any:
        """``hotline_number`` was read as "our 关爱热线" but held 12338, the national line.

        It still loads: 12338 is dropped (the texts name that line themselves); any other
        number was the programme's own and becomes ``programme_hotline``.
        """
        if isinstance(data, dict) and "hotline_number" in data:
            data = dict(data)
            legacy = str(data.pop("hotline_number"))
            if legacy.strip() != NATIONAL_WOMENS_RIGHTS_LINE:
                data.setdefault("programme_hotline", legacy)
        return data

    @model_validator(mode="after")
    def _check_in_window_is_a_window(self) -> PolicySettings:
        if not self.check_in_from < self.check_in_until:
            raise ValueError("check_in_from must be before check_in_until (same day)")
        if not self.working_from < self.working_until or not self.working_days:
            raise ValueError("working hours need days and working_from before working_until")
        return self

    @field_validator("sla_minutes")
    @classmethod
    def _every_priority_has_a_positive_sla(cls, value: dict[Priority, int]) -> dict[Priority, int]:
        missing = [p.value for p in Priority if p not in value]
        if missing:
            raise ValueError(f"missing SLA for {', '.join(missing)}")
        if any(minutes <= 0 for minutes in value.values()):
            raise ValueError("every SLA must be a positive number of minutes")
        return value
