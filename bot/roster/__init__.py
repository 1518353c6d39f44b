"""The duty roster: who is on duty when, in the service's time zone (issue 16, item 1).

- ``config``: the ``roster:`` section of config.yml (workers, shifts, overrides, leave).
- ``duty``: pure functions: who is on duty at a moment, the gaps over a window, the chain.
- ``report``: what ``careline roster`` prints, in Chinese (words in ``texts``).
"""

from bot.roster.config import Leave, Override, RosterConfig, Shift, SocialWorker
from bot.roster.duty import (
    Duty,
    DutySpan,
    EscalationStep,
    Gap,
    escalation_chain,
    gaps,
    on_duty,
    people_at_level,
    supervisors,
    timeline,
)

__all__ = [
    "Duty",
    "DutySpan",
    "EscalationStep",
    "Gap",
    "Leave",
    "Override",
    "RosterConfig",
    "Shift",
    "SocialWorker",
    "escalation_chain",
    "gaps",
    "on_duty",
    "people_at_level",
    "supervisors",
    "timeline",
]
