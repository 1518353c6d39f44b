"""Logging the contact: one 人次 of 陪伴式 / 赋能式 / 支持式 service."""

from __future__ import annotations

from handlers.texts import describe_for_worker
from handlers.turn import Case, ContinueContact, OpenContact, Turn
from intents import CRISIS_INTENTS, Intent, service_type
from storage.models import Contact


def log_contact(turn: Turn) -> None:
    """Open a contact, or continue the one still going on (messages closer than the gap, or
    segments of one call)."""
    service = service_type(turn.parse.intent)
    if service is None and turn.parse.risk.for_another:
        # Someone else at risk, her words read as small talk (我闺蜜想自杀: the classifier's
        # best other answer a greeting): a worker is called, so it is a 陪伴式 contact too.
        service = service_type(Intent.EMOTIONAL_DISTRESS)
    if service is None:
        return
    parse = turn.parse
    summary = describe_for_worker(
        parse.intent,
        parse.risk.level,
        parse.risk.reasons,
        concern_for_other=parse.risk.for_another,
    )
    ongoing = _ongoing(turn.case, service.value)
    if ongoing is None:
        turn.decision.contact = OpenContact(service.value, parse.intent, summary)
        return
    intent, kept_summary, new_service = ongoing.intent, ongoing.summary, None
    if parse.intent in CRISIS_INTENTS and ongoing.intent not in CRISIS_INTENTS:
        # A crisis is what this contact was about, whatever it started as (a call's contact
        # may have started as another service).
        intent, kept_summary = parse.intent, summary
        if service.value != ongoing.service_type:
            new_service = service.value
    turn.decision.contact = ContinueContact(
        ongoing.id,  # type: ignore[arg-type]
        intent,
        kept_summary,
        ongoing.message_count + 1,
        service_type=new_service,
    )


def _ongoing(case: Case, service: str) -> Contact | None:
    """A call is one contact whatever its segments are about (and never continues another
    call's); elsewhere, her messages of one service type close together are."""
    if case.call is not None:
        return case.call_contact
    return next((c for c in case.ongoing_contacts if c.service_type == service), None)
