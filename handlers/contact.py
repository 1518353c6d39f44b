"""Logging the contact: one 人次 of 陪伴式 / 赋能式 / 支持式 service."""

from __future__ import annotations

from datetime import timedelta

from handlers.texts import describe_for_worker
from handlers.turn import Turn
from intents import CRISIS_INTENTS, service_type
from storage import queries
from storage.records import ContactRecord


async def log_contact(turn: Turn) -> None:
    """Open a contact, or continue the one still going on (messages closer than the gap)."""
    service = service_type(turn.parse.intent)
    if service is None:
        return
    since = turn.now - timedelta(minutes=turn.settings.contact_gap_minutes)
    contact = await queries.ongoing_contact(
        turn.session, turn.person.id, service.value, turn.message.channel, since
    )
    summary = describe_for_worker(turn.parse.intent, turn.parse.risk.level, turn.parse.risk.reasons)
    if contact is None:
        contact = ContactRecord(
            person_id=turn.person.id,
            channel=turn.message.channel,
            service_type=service.value,
            intent=turn.parse.intent,
            summary=summary,
            started_at=turn.now,
            ended_at=turn.now,
        )
        await queries.insert_contact(turn.session, contact)
    else:
        contact.ended_at = max(contact.ended_at, turn.now)
        contact.message_count += 1
        if turn.parse.intent in CRISIS_INTENTS and contact.intent not in CRISIS_INTENTS:
            # A crisis is what this contact was about, whatever it started as.
            contact.intent = turn.parse.intent
            contact.summary = summary
        await queries.update_contact(turn.session, contact)
    turn.message.contact_id = contact.id
    turn.effects.contact = contact
