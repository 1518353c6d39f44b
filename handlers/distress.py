"""Repeated distress: a mother whose messages keep showing distress gets a person (P2).

No one of her messages escalates (distress, or a risk too low to), but many within days do:
the count of her earlier such messages comes in the case snapshot (``Case.recent_distress``),
read only for a message that shows distress itself.
"""

from __future__ import annotations

from handlers.escalation import on_message
from handlers.texts import describe_repeated_distress
from handlers.turn import JoinEscalation, Turn
from intents import Intent, ParseResult, RiskLevel
from storage.models import Priority

REPEATED_DISTRESS = "repeated_distress"
# What counts as a message showing distress: its intent, or a risk below escalation.
DISTRESS_INTENTS: frozenset[str] = frozenset({Intent.EMOTIONAL_DISTRESS})
DISTRESS_RISK_LEVELS: frozenset[str] = frozenset({RiskLevel.LOW})


def shows_distress(parse: ParseResult) -> bool:
    return parse.intent in DISTRESS_INTENTS or parse.risk.level in DISTRESS_RISK_LEVELS


def escalate_repeated_distress(turn: Turn) -> None:
    """P2 once this message makes the count. While she has an escalation open, the message
    joins that one instead (raising it to P2 if it was less urgent and the count is made)."""
    count = turn.case.recent_distress + 1  # this message is one of them
    if count < turn.settings.repeated_distress_messages:
        if turn.case.open_escalation is not None:
            turn.decision.escalation = JoinEscalation(turn.case.open_escalation.id)  # type: ignore[arg-type]
        return
    reason = describe_repeated_distress(count, turn.settings.repeated_distress_days)
    turn.decision.escalation = on_message(turn, Priority.P2, reason=reason, cause=REPEATED_DISTRESS)
