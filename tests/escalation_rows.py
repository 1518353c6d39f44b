"""Escalations written straight into a database, as the pipeline leaves them: her identity,
her message with its classification, the escalation it opened. For tests of what staff read
(order, visibility, masking) that need cases in states a conversation takes long to reach."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage import queries
from storage.db import Database
from storage.fieldcrypt import FieldCipher
from storage.models import (
    Classification,
    Direction,
    Escalation,
    EscalationStatus,
    Message,
    MessageStatus,
)


async def add_escalation(
    db: Database,
    cipher: FieldCipher,
    *,
    phone: str,
    at: datetime,
    priority: str = "P1",
    status: EscalationStatus = EscalationStatus.NOTIFIED,
    taken_by: str | None = None,
    text: str = "我不想活了",
    risk_reasons: tuple[str, ...] = ("suicide_ideation",),
    channel: str = "api",
    reason: str = "想要轻生；风险：高",
) -> Escalation:
    async with db.write() as session:
        person = await queries.find_or_create_person(session, cipher, "phone", phone)
        message = Message(
            person_id=person.id,  # type: ignore[arg-type]
            channel=channel,
            external_id=f"{phone}-{at.isoformat()}",
            direction=Direction.IN,
            status=MessageStatus.HANDLED,
            text=text,
            sent_at=at,
            received_at=at,
        )
        session.add(message)
        await session.flush()
        session.add(
            Classification(
                message_id=message.id,  # type: ignore[arg-type]
                intent="crisis_suicide",
                confidence=0.9,
                risk_level="high",
                risk_reasons=list(risk_reasons),
                model_version="test",
                created_at=at,
            )
        )
        escalation = Escalation(
            person_id=person.id,  # type: ignore[arg-type]
            message_id=message.id,  # type: ignore[arg-type]
            priority=priority,
            reason=reason,
            risk_level="high",
            status=status,
            taken_by=taken_by,
            created_at=at,
            updated_at=at,
            acknowledged_at=at if taken_by else None,
            sla_deadline=at + timedelta(minutes=15),
        )
        session.add(escalation)
        await session.flush()
        message.escalation_id = escalation.id
    return escalation
