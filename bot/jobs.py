"""What the scheduler's stored jobs run. A job only names its duty; the leader's listener
(``bot.scheduler.Scheduler``) hands the duty to the running service it was given, so no
module here needs to find the service."""

from __future__ import annotations


async def tick(duty: str) -> str:
    return duty
