"""Logging the contact: one 人次 of 陪伴式 / 赋能式 / 支持式 service."""

from __future__ import annotations

from handlers.texts import describe_for_worker
from handlers.turn import ContinueContact, OpenContact, Turn
from intents import CRISIS_INTENTS, service_type


def log_contact(turn: Turn) -> None:
    """Open a contact, or continue the one still going on (messages closer than the gap)."""
    service = service_type(turn.parse.intent)
    if service is None:
        return
    parse = turn.parse
    summary = describe_for_worker(parse.intent, parse.risk.level, parse.risk.reasons)
    ongoing = next((c for c in turn.case.ongoing_contacts if c.service_type == service.value), None)
    if ongoing is None:
        turn.decision.contact = OpenContact(service.value, parse.intent, summary)
        return
    intent, kept_summary = ongoing.intent, ongoing.summary
    if parse.intent in CRISIS_INTENTS and ongoing.intent not in CRISIS_INTENTS:
        # A crisis is what this contact was about, whatever it started as.
        intent, kept_summary = parse.intent, summary
    turn.decision.contact = ContinueContact(
        ongoing.id,  # type: ignore[arg-type]
        intent,
        kept_summary,
        ongoing.message_count + 1,
    )
