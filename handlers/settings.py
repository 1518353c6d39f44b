"""The care policy's tunable numbers (the ``policy:`` section of config.yml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storage.models import Priority


class PolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sla_minutes: dict[Priority, int] = {Priority.P1: 5, Priority.P2: 30, Priority.P3: 240}
    crisis_check_in_hours: float = Field(24, gt=0, le=24 * 30)
    distress_check_in_hours: float = Field(72, gt=0, le=24 * 30)
    contact_gap_minutes: int = Field(30, ge=0, le=24 * 60)
    hotline_number: str = Field("12338", min_length=3, max_length=20)

    @field_validator("sla_minutes")
    @classmethod
    def _every_priority_has_a_positive_sla(cls, value: dict[Priority, int]) -> dict[Priority, int]:
        missing = [p.value for p in Priority if p not in value]
        if missing:
            raise ValueError(f"missing SLA for {', '.join(missing)}")
        if any(minutes <= 0 for minutes in value.values()):
            raise ValueError("every SLA must be a positive number of minutes")
        return value
