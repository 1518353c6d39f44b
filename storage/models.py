"""Careline's tables. Enumerated values are stored as short strings; the enums say which."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def _fk(target: str, *, nullable: bool = True, index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target), nullable=nullable, index=index),
    )


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class MessageStatus(StrEnum):
    RECEIVED = "received"  # stored, not yet handled: a restart picks it up again
    HANDLED = "handled"
    SENT = "sent"  # outbound
    PENDING = "pending"  # outbound waiting for a late push


class Priority(StrEnum):
    P1 = "P1"  # life at risk now
    P2 = "P2"  # urgent, same shift
    P3 = "P3"  # a person asked for a person


class EscalationStatus(StrEnum):
    OPEN = "open"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class FollowUpKind(StrEnum):
    CHECK_IN = "check_in"
    CALLBACK = "callback"


class FollowUpStatus(StrEnum):
    SCHEDULED = "scheduled"
    FIRING = "firing"  # claimed by one run: never fired twice
    SENDING = "sending"  # a check-in on its way to her: a run that finds it so was cut off
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Role(StrEnum):
    SOCIAL_WORKER = "social_worker"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Person(SQLModel, table=True):
    """A mother, known only by a pseudonym; how to reach her lives in ``Identity``."""

    id: int | None = Field(default=None, primary_key=True)
    pseudonym: str = Field(unique=True, index=True, max_length=16)
    created_at: datetime = _when()


class Identity(SQLModel, table=True):
    """One way a person reaches us (openid, group member id, phone...).

    The value is encrypted; ``lookup_hash`` is a keyed hash so it can be found without being
    readable in the database.
    """

    __table_args__ = (UniqueConstraint("kind", "lookup_hash", name="uq_identity_kind_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _fk("person.id", nullable=False)
    kind: str = Field(max_length=32)
    lookup_hash: str = Field(max_length=64)
    value_encrypted: str
    created_at: datetime = _when()


class Contact(SQLModel, table=True):
    """One emotional-support or service contact (one 人次)."""

    # Every message looks up her ongoing contact of a service type on a channel. The staff
    # contact log pages by (started_at, id), over all contacts or one worker's; the reports
    # count each service type's contacts (and mothers) by time from the index alone.
    __table_args__ = (
        Index("ix_contact_ongoing", "person_id", "service_type", "channel", "ended_at"),
        Index("ix_contact_started_id", "started_at", "id"),
        Index("ix_contact_worker_started", "handled_by", "started_at", "id"),
        Index("ix_contact_service_started", "service_type", "started_at", "person_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _fk("person.id", nullable=False)
    channel: str = Field(max_length=32, index=True)
    service_type: str = Field(max_length=8, index=True)
    intent: str = Field(max_length=32)
    summary: str = ""
    message_count: int = 1
    started_at: datetime = _when(index=True)
    ended_at: datetime = _when()
    handled_by: str = Field(default="careline", max_length=64)


# A channel's own message id. The longest a channel accepts: the care group's
# "group_id:message_id" (128 + 1 + 128 characters), a WeChat MsgId (256; Tencent documents a
# 64-bit integer); the API's message_id is 128. Room is left for the hotline's.
EXTERNAL_ID_LENGTH = 512


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_message_channel_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _fk("person.id", nullable=False)
    channel: str = Field(max_length=32)
    external_id: str | None = Field(default=None, max_length=EXTERNAL_ID_LENGTH)
    direction: str = Field(max_length=3)
    status: str = Field(max_length=16, index=True)
    content_type: str = Field(default="text", max_length=16)
    text: str = ""
    conversation_id: str | None = Field(default=None, max_length=128)
    # Inbound: spoken to Careline (a group message without an @ is not).
    addressed: bool = True
    # Outbound: crisis content or the answer to an escalated message, never to be shown in a
    # group conversation.
    sensitive: bool = False
    reply_to_id: int | None = _fk("message.id")
    contact_id: int | None = _fk("contact.id")
    # Inbound: the escalation this message opened or joined (that one may be an earlier
    # message's). An escalation names its first message, hence use_alter: the two tables
    # refer to each other.
    escalation_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("escalation.id", use_alter=True, name="fk_message_escalation_id"),
            nullable=True,
        ),
    )
    sent_at: datetime = _when()
    received_at: datetime = _when(index=True)
    # Inbound, while it is being handled: which process holds it, and until when. A message
    # still RECEIVED past its lease was dropped by a process that stopped or lost its
    # database; any process may take it up (``queries.claim_stale_messages``).
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _when(nullable=True)


class Classification(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("message.id"), nullable=False, unique=True)
    )
    intent: str = Field(max_length=32, index=True)
    confidence: float
    risk_level: str = Field(max_length=16, index=True)
    risk_kind: str | None = Field(default=None, max_length=16)
    risk_reasons: list[str] = Field(default_factory=list, sa_type=JSON)
    entities: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    intent_ranking: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    model_version: str = Field(max_length=64)
    created_at: datetime = _when()


class StaffUser(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    display_name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    password_hash: str
    active: bool = True
    created_at: datetime = _when()


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _fk("person.id", nullable=False)
    message_id: int = _fk("message.id", nullable=False)
    priority: str = Field(max_length=2, index=True)
    reason: str
    risk_level: str = Field(max_length=16)
    status: str = Field(max_length=16, index=True)
    # 0 duty social worker, 1 backup, 2 supervisors: climbs when the SLA passes unanswered.
    level: int = 0
    assignee_id: int | None = _fk("staffuser.id")
    # Who took it (a roster worker id, or the name given at the terminal).
    taken_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _when(index=True)
    updated_at: datetime = _when()
    notified_at: datetime | None = _when(nullable=True)
    acknowledged_at: datetime | None = _when(nullable=True)
    resolved_at: datetime | None = _when(nullable=True)
    sla_deadline: datetime = _when(index=True)


class FollowUp(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _fk("person.id", nullable=False)
    message_id: int | None = _fk("message.id")
    escalation_id: int | None = _fk("escalation.id")
    channel: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16, index=True)
    due_at: datetime = _when(index=True)
    attempts: int = 0
    # A check-in's place in its run: each one she leaves unanswered schedules the next.
    round: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})
    outcome: str | None = None
    created_at: datetime = _when()
    fired_at: datetime | None = _when(nullable=True)


class AuditEvent(SQLModel, table=True):
    # A case page reads the history of her escalations; the ack page who took one.
    __table_args__ = (Index("ix_auditevent_object", "object_type", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(index=True)
    actor: str = Field(max_length=64)  # "careline", "scheduler" or a staff username
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_id: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class OutboxKind(StrEnum):
    STAFF_NOTICE = "staff_notice"  # tell the staff at an escalation's current level
    STAFF_DELIVERY = "staff_delivery"  # that notice, to one person of that level
    SLA_CHECK = "sla_check"  # nobody took it by its deadline? climb a level
    FOLLOW_UP = "follow_up"  # a check-in or callback falls due
    STAFF_TAKEN = "staff_taken"  # tell one person told before that somebody took it
    LATE_REPLY = "late_reply"  # her reply that missed WeChat's deadline, through the API
    CHECK_IN = "check_in"  # a check-in message to her, on her channel
    ROSTER_GAP = "roster_gap"  # tell one supervisor that nobody is on duty for a while


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after every try: a person must look (logged, audited)
    CANCELLED = "cancelled"  # no longer needed (the escalation was taken meanwhile)


class OutboxItem(SQLModel, table=True):
    """Work that leaves Careline (a staff notice...), stored with what caused it.

    Written in the transaction that decided it, sent later by whichever process claims it
    (``claimed_by`` until ``claimed_until``), so a stop or a second replica neither loses nor
    repeats it. ``key`` names what it is for: enqueuing the same thing twice is one row.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=128, unique=True)
    escalation_id: int | None = _fk("escalation.id")
    follow_up_id: int | None = _fk("followup.id")
    late_reply_id: int | None = _fk("late_reply.id", index=False)
    # A staff delivery's recipient (a roster worker id).
    recipient: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=16)
    due_at: datetime = _when()
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)
    # What the last try said: "delivered", or why not (never message content or a secret).
    result: str | None = Field(default=None, max_length=200)


class NoticeAttempt(SQLModel, table=True):
    """One try at telling one person of an escalation, through one sender."""

    __tablename__ = "notice_attempt"

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int | None = _fk("escalation.id")
    outbox_id: int | None = _fk("outbox.id")
    recipient: str = Field(max_length=64)
    sender: str = Field(max_length=32)
    status: str = Field(max_length=32)  # delivered, failed_retryable, failed_permanent
    reason: str = Field(default="", max_length=200)
    at: datetime = _when()


class AckLinkAction(StrEnum):
    ACKNOWLEDGED = "acknowledged"  # 我来处理
    HANDED_BACK = "handed_back"  # 转给其他人


class AckLinkUse(SQLModel, table=True):
    """An acknowledgement link that was used: each link acts once (``token_id`` is unique)."""

    __tablename__ = "ack_link_use"

    id: int | None = Field(default=None, primary_key=True)
    token_id: str = Field(max_length=64, unique=True)
    escalation_id: int = _fk("escalation.id", nullable=False)
    recipient: str = Field(max_length=64)  # a roster worker id
    action: str = Field(max_length=16)
    used_at: datetime = _when()


class LateReplyStatus(StrEnum):
    PENDING = "pending"  # owed through the API: a restart sends it
    SENDING = "sending"  # on its way: a run that finds it so was cut off, and does not resend
    SENT = "sent"
    NO_REPLY = "no_reply"  # handling gave nothing to say
    NO_API = "no_api"  # no API secret configured
    OUT_OF_WINDOW = "out_of_window"  # WeChat's 48 hours had passed
    FAILED = "failed"


class LateReply(SQLModel, table=True):
    """A reply that missed WeChat's deadline and is owed through the API, kept across restarts.

    Keyed like the inbound message (channel, external id): WeChat's retries and a restart find
    the same claim, so the reply goes out once.
    """

    __tablename__ = "late_reply"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_late_reply_channel_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    external_id: str = Field(max_length=EXTERNAL_ID_LENGTH)
    recipient_encrypted: str
    status: str = Field(max_length=16, index=True)
    attempts: int = 0
    claimed_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)


class AcceptedRequest(SQLModel, table=True):
    """A signed callback that was let in, remembered while its signed timestamp is fresh.

    WeChat's signatures never expire, so the (timestamp, nonce) it signed is the only thing
    that tells a replay from a new request. ``fingerprint`` (SHA-256 over the signature and the
    body) tells WeChat's retry of the very same request, which gets in again, from a reused
    nonce with another body, which is refused. After ``expires_at`` the timestamp alone is
    refused, so the row may go.
    """

    __tablename__ = "accepted_request"
    __table_args__ = (
        UniqueConstraint("channel", "sent_at", "nonce", name="uq_accepted_request_signed"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    sent_at: int = Field(sa_type=BigInteger)  # the signed timestamp, Unix seconds
    nonce: str = Field(max_length=128)
    fingerprint: str = Field(max_length=64)
    expires_at: datetime = _when(index=True)


class ApiToken(SQLModel, table=True):
    """The access_token of one WeChat / WeCom API app, shared by every process.

    WeChat limits how often a token may be fetched, and a new Official Account token ends the
    previous one after a few minutes: replicas and restarts take the stored one while it lasts.
    ``key`` names the app (``wechat_mp:<appid>``, ``wecom:<corpid>:<agentid>``); the value is
    encrypted like an identity.
    """

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128, unique=True)
    value_encrypted: str
    fetched_at: datetime = _when()
    expires_at: datetime = _when()


class CallStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    FINAL = "final"


class HotlineCall(SQLModel, table=True):
    """One hotline call as the call system reported it, and what Careline made of it.

    The segments taken as her words are her messages (``HotlineSegment`` says where each was
    said); the whole call is one contact, and its risk is its riskiest segment's.
    """

    __tablename__ = "hotline_call"

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(max_length=128, unique=True, index=True)
    person_id: int = _fk("person.id", nullable=False)
    line: str = Field(max_length=64)
    # The person who answered (None: nobody did, the caller stayed with the IVR).
    agent_id: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=16)  # CallStatus: only ever moves on to final
    started_at: datetime = _when()
    ended_at: datetime | None = _when(nullable=True)
    contact_id: int | None = _fk("contact.id", index=False)
    escalation_id: int | None = _fk("escalation.id", index=False)
    risk_level: str = Field(default="none", max_length=16)
    # The segment behind the call's risk, for the worker.
    risk_message_id: int | None = _fk("message.id", index=False)
    updated_at: datetime = _when()


class HotlineSegment(SQLModel, table=True):
    """Where in its call one of her messages was said, and how sure the speech recognition was
    (a low-confidence segment is classified all the same: its confidence is kept for the worker)."""

    __tablename__ = "hotline_segment"

    id: int | None = Field(default=None, primary_key=True)
    hotline_call_id: int = _fk("hotline_call.id", nullable=False)
    message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("message.id"), nullable=False, unique=True)
    )
    position: int
    speaker: str = Field(max_length=16)  # the label the call system gave it
    start_seconds: float
    end_seconds: float
    confidence: float | None = None


class StaffSession(SQLModel, table=True):
    """A signed-in staff browser. The cookie holds a random token; only its SHA-256 is stored,
    so a copy of the database signs nobody in. Ends at ``expires_at``, at sign-out, or when
    the user's password is reset or the account is switched off."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    staff_id: int = _fk("staffuser.id", nullable=False)
    # The synchronizer token every form and API write of this session must carry.
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _when()
    last_seen_at: datetime = _when()
    expires_at: datetime = _when(index=True)


class CaseNote(SQLModel, table=True):
    """What a worker wrote down about a mother's case (with a move on an escalation, or alone).

    Her words stay in her messages; a note is staff's, read by staff only."""

    __tablename__ = "case_note"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _fk("person.id", nullable=False)
    escalation_id: int | None = _fk("escalation.id", index=False)
    author: str = Field(max_length=64)  # a staff username (a roster worker id)
    author_id: int | None = _fk("staffuser.id", index=False)
    # What the note went with: "note", or the move it explains ("acknowledged", "resolved").
    kind: str = Field(default="note", max_length=16)
    text: str
    created_at: datetime = _when()
