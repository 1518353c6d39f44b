"""Scheduler entry points. They only look up the running service and hand over ids."""

from __future__ import annotations

from bot import runtime


async def fire_follow_up(follow_up_id: int) -> None:
    services = runtime.current()
    await services.run_job(services.fire_follow_up(follow_up_id))


async def check_escalation_sla(escalation_id: int, level: int) -> None:
    services = runtime.current()
    await services.run_job(services.check_escalation_sla(escalation_id, level))
