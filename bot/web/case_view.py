"""A mother's case as a staff member may read it, for the case page and the JSON API alike.

``load_case`` reads everything in one session and writes the view to the audit log (every
case view is audited, whoever reads it and however). Her identities are decrypted only to be
shown: in full to supervisors and to a worker who holds one of her unresolved escalations,
masked to anyone else (``bot.web.masking``). Her words are plain strings: the template escapes
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.services import Services
from bot.web import texts
from bot.web.access import StaffMember
from bot.web.ack_view import local_time
from bot.web.masking import mask_identity
from bot.web.queue_view import holder, roster_names
from storage import queries
from storage.models import AuditEvent, Escalation, HotlineSegment

MESSAGES_SHOWN = 200
CONTACTS_SHOWN = 100
FOLLOW_UPS_SHOWN = 100


@dataclass(frozen=True, slots=True)
class IdentityLine:
    kind: str
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class MessageLine:
    id: int
    inbound: bool
    channel: str
    channel_label: str
    at: datetime
    when: str
    text: str
    intent: str | None
    intent_label: str
    risk_level: str | None
    risk_label: str
    risk_reasons: tuple[str, ...]
    # Words said in a hotline call: where in it, how sure the recogniser was, and the call
    # system's label when it was not hers ("" otherwise).
    spoken: str = ""


@dataclass(frozen=True, slots=True)
class ContactLine:
    id: int
    channel_label: str
    service_type: str
    intent_label: str
    message_count: int
    started: str
    ended: str
    handled_by: str


@dataclass(frozen=True, slots=True)
class HistoryLine:
    when: str
    actor: str
    action: str
    action_label: str


@dataclass(frozen=True, slots=True)
class EscalationLine:
    id: int
    priority: str
    priority_label: str
    status: str
    status_label: str
    reason: str
    taken_by: str | None
    opened: str
    history: tuple[HistoryLine, ...]


@dataclass(frozen=True, slots=True)
class FollowUpLine:
    id: int
    kind: str
    kind_label: str
    status: str
    status_label: str
    due_at: datetime
    due: str
    outcome: str | None


@dataclass(frozen=True, slots=True)
class NoteLine:
    id: int
    kind_label: str
    author: str
    when: str
    text: str


@dataclass(frozen=True, slots=True)
class CaseView:
    person_id: int
    pseudonym: str
    unmasked: bool
    identities: tuple[IdentityLine, ...]
    messages: tuple[MessageLine, ...]
    contacts: tuple[ContactLine, ...]
    escalations: tuple[EscalationLine, ...]
    follow_ups: tuple[FollowUpLine, ...]
    notes: tuple[NoteLine, ...]


async def load_case(services: Services, staff: StaffMember, person_id: int) -> CaseView | None:
    """Her case, or None when there is no such person; the view is audited."""
    zone = services.config.zone
    names = roster_names(services.config)
    async with services.db.session() as session:
        person = await queries.get_person(session, person_id)
        if person is None:
            return None
        unmasked = staff.is_supervisor or await queries.holds_open_escalation(
            session, person_id, holder(staff)
        )
        identities = await queries.identities_of(session, person_id)
        messages = await queries.case_messages(session, person_id, limit=MESSAGES_SHOWN)
        contacts = await queries.case_contacts(session, person_id, limit=CONTACTS_SHOWN)
        escalations = await queries.case_escalations(session, person_id)
        histories = await queries.histories_of(
            session,
            "escalation",
            [e.id for e in escalations],  # type: ignore[misc]
        )
        follow_ups = await queries.case_follow_ups(session, person_id, limit=FOLLOW_UPS_SHOWN)
        notes = await queries.notes_of(session, person_id)
    cipher = services.pipeline.cipher
    view = CaseView(
        person_id=person_id,
        pseudonym=person.pseudonym,
        unmasked=unmasked,
        identities=tuple(
            _identity(i.kind, cipher.decrypt(i.value_encrypted, context=i.kind), unmasked)
            for i in identities
        ),
        messages=tuple(
            MessageLine(
                id=m.id,  # type: ignore[arg-type]
                inbound=m.direction == "in",
                channel=m.channel,
                channel_label=texts.CHANNEL_LABELS.get(m.channel, m.channel),
                at=m.received_at,
                when=local_time(m.received_at, zone),
                text=m.text,
                intent=c.intent if c else None,
                intent_label=texts.INTENT_LABELS.get(c.intent, c.intent) if c else "",
                risk_level=c.risk_level if c else None,
                risk_label=texts.RISK_LABELS.get(c.risk_level, c.risk_level) if c else "",
                risk_reasons=tuple(c.risk_reasons) if c else (),
                spoken=_spoken(segment) if segment else "",
            )
            for m, c, segment in messages
        ),
        contacts=tuple(
            ContactLine(
                id=c.id,  # type: ignore[arg-type]
                channel_label=texts.CHANNEL_LABELS.get(c.channel, c.channel),
                service_type=c.service_type,
                intent_label=texts.INTENT_LABELS.get(c.intent, c.intent),
                message_count=c.message_count,
                started=local_time(c.started_at, zone),
                ended=local_time(c.ended_at, zone),
                handled_by=names.get(c.handled_by, c.handled_by),
            )
            for c in contacts
        ),
        escalations=tuple(
            _escalation(e, histories.get(e.id, []), zone, names)  # type: ignore[arg-type]
            for e in escalations
        ),
        follow_ups=tuple(
            FollowUpLine(
                id=f.id,  # type: ignore[arg-type]
                kind=f.kind,
                kind_label=texts.FOLLOW_UP_KIND_LABELS.get(f.kind, f.kind),
                status=f.status,
                status_label=texts.FOLLOW_UP_STATUS_LABELS.get(f.status, f.status),
                due_at=f.due_at,
                due=local_time(f.due_at, zone),
                outcome=f.outcome,
            )
            for f in follow_ups
        ),
        notes=tuple(
            NoteLine(
                id=n.id,  # type: ignore[arg-type]
                kind_label=texts.NOTE_KIND_LABELS.get(n.kind, n.kind),
                author=names.get(n.author, n.author),
                when=local_time(n.created_at, zone),
                text=n.text,
            )
            for n in notes
        ),
    )
    async with services.db.write() as session:
        await queries.audit(
            session,
            actor=staff.username,
            action="case.view",
            object_type="person",
            object_id=person_id,
            at=services.clock.now(),
            detail={"unmasked": unmasked},
        )
    return view


def _identity(kind: str, value: str, unmasked: bool) -> IdentityLine:
    label = texts.IDENTITY_KIND_LABELS.get(kind, kind)
    return IdentityLine(kind, label, value if unmasked else mask_identity(kind, value))


def _escalation(
    escalation: Escalation, events: list[AuditEvent], zone: ZoneInfo, names: dict[str, str]
) -> EscalationLine:
    return EscalationLine(
        id=escalation.id,  # type: ignore[arg-type]
        priority=escalation.priority,
        priority_label=texts.PRIORITY_LABELS.get(escalation.priority, escalation.priority),
        status=escalation.status,
        status_label=texts.STATUS_LABELS.get(escalation.status, escalation.status),
        reason=escalation.reason,
        taken_by=names.get(escalation.taken_by, escalation.taken_by)
        if escalation.taken_by
        else None,
        opened=local_time(escalation.created_at, zone),
        history=tuple(
            HistoryLine(
                when=local_time(event.at, zone),
                actor=names.get(event.actor, event.actor),
                action=event.action,
                action_label=texts.AUDIT_ACTION_LABELS.get(event.action, event.action),
            )
            for event in events
        ),
    )


def _spoken(segment: HotlineSegment) -> str:
    minutes, seconds = divmod(int(segment.start_seconds), 60)
    parts = [texts.SPOKEN_AT.format(at=f"{minutes}:{seconds:02d}")]
    if segment.confidence is not None:
        parts.append(texts.RECOGNISED_WITH.format(confidence=segment.confidence))
    if segment.speaker != "caller":
        label = texts.SPEAKER_LABELS.get(segment.speaker, segment.speaker)
        parts.append(texts.LABELLED_AS.format(label=label))
    return " · ".join(parts)
