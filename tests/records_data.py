"""Hand-made contacts, escalations and follow-ups for the contact log and report tests.

Each helper writes real rows through the models and returns what it wrote, so a test computes
its expected figures from the data it made.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from intents import Intent, RiskLevel, service_type
from storage.db import Database
from storage.models import (
    Classification,
    Contact,
    Direction,
    Escalation,
    EscalationStatus,
    FollowUp,
    Message,
    MessageStatus,
    Person,
)

RISK_ORDER = [level.value for level in RiskLevel]
CHANNELS = ("wechat_mp", "hotline", "care_group")
WORKERS = ("careline", "agent-017", "sw-li")
SERVICE_INTENTS = [i for i in Intent if service_type(i) is not None]


@dataclass(frozen=True)
class MadeContact:
    id: int
    started_at: datetime
    pseudonym: str
    channel: str
    service_type: str
    intent: str
    handled_by: str
    risk: str  # the highest of its messages' risks
    summary: str


async def make_contacts(
    db: Database, count: int, *, start: datetime, seed: int = 7, step_minutes: int = 37
) -> list[MadeContact]:
    """``count`` contacts of three mothers, every ``step_minutes`` (a few share a start time),
    each with one to three classified messages."""
    rng = random.Random(seed)
    made: list[MadeContact] = []
    async with db.write() as session:
        people = [Person(pseudonym=f"M-T{seed:03d}{i:02d}") for i in range(3)]
        session.add_all(people)
        await session.flush()
        for n in range(count):
            person = people[n % 3]
            intent = rng.choice(SERVICE_INTENTS)
            # Every fifth contact starts at the same moment as the one before it: the keyset
            # must tell them apart by id.
            started = start + timedelta(minutes=step_minutes * (n - (n % 5 == 4)))
            risks = [rng.choice(RISK_ORDER) for _ in range(rng.randint(1, 3))]
            summary = f"{intent} 第{n}次" + (" 100%满意" if n % 7 == 0 else "")
            contact = Contact(
                person_id=person.id,
                channel=rng.choice(CHANNELS),
                service_type=service_type(intent).value,
                intent=intent.value,
                summary=summary,
                message_count=len(risks),
                started_at=started,
                ended_at=started + timedelta(minutes=5),
                handled_by=rng.choice(WORKERS),
            )
            session.add(contact)
            await session.flush()
            for i, risk in enumerate(risks):
                message = Message(
                    person_id=person.id,
                    channel=contact.channel,
                    external_id=f"c{contact.id}-{i}",
                    direction=Direction.IN,
                    status=MessageStatus.HANDLED,
                    text="…",
                    contact_id=contact.id,
                    received_at=started,
                    sent_at=started,
                )
                session.add(message)
                await session.flush()
                session.add(
                    Classification(
                        message_id=message.id,
                        intent=intent.value,
                        confidence=0.9,
                        risk_level=risk,
                        model_version="test",
                    )
                )
            made.append(
                MadeContact(
                    contact.id,
                    started,
                    person.pseudonym,
                    contact.channel,
                    contact.service_type,
                    contact.intent,
                    contact.handled_by,
                    max(risks, key=RISK_ORDER.index),
                    summary,
                )
            )
    return made


def newest_first(contacts: list[MadeContact]) -> list[MadeContact]:
    return sorted(contacts, key=lambda c: (c.started_at, c.id), reverse=True)


async def make_escalations(
    db: Database, spec: list[tuple[str, datetime, float | None]]
) -> list[Escalation]:
    """One escalation per (priority, opened at, minutes to acknowledge or None)."""
    made = []
    async with db.write() as session:
        person = Person(pseudonym=f"M-ESC{len(spec):03d}")
        session.add(person)
        await session.flush()
        for n, (priority, opened, minutes) in enumerate(spec):
            message = Message(
                person_id=person.id,
                channel="api",
                external_id=f"esc-{n}",
                direction=Direction.IN,
                status=MessageStatus.HANDLED,
                received_at=opened,
                sent_at=opened,
            )
            session.add(message)
            await session.flush()
            acked = None if minutes is None else opened + timedelta(minutes=minutes)
            escalation = Escalation(
                person_id=person.id,
                message_id=message.id,
                priority=priority,
                reason="test",
                risk_level="high",
                status=EscalationStatus.OPEN if acked is None else EscalationStatus.ACKNOWLEDGED,
                created_at=opened,
                updated_at=opened,
                acknowledged_at=acked,
                sla_deadline=opened + timedelta(minutes=15),
            )
            session.add(escalation)
            made.append(escalation)
    return made


async def make_follow_ups(db: Database, spec: list[tuple[str, str, datetime]]) -> None:
    """One follow-up per (kind, status, due at)."""
    async with db.write() as session:
        person = Person(pseudonym=f"M-FU{len(spec):04d}")
        session.add(person)
        await session.flush()
        session.add_all(
            FollowUp(person_id=person.id, channel="api", kind=kind, status=status, due_at=due)
            for kind, status, due in spec
        )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
