"""Every query Careline makes, one module per aggregate. No SQL lives anywhere else.

All of them take an async ORM session (``Database.session()`` to read, ``Database.write()`` to
write) and read and write the models of ``storage.models``: one data path, on SQLite and
PostgreSQL alike. Callers may import the aggregate module or the names re-exported here.
"""

from storage.queries.accepted_requests import (
    accept_request,
    forget_request,
    prune_accepted_requests,
)
from storage.queries.ack_links import ack_link_use, handed_back, handed_back_by, use_ack_link
from storage.queries.api_tokens import store_api_token, stored_api_token
from storage.queries.audit import audit, history_of, last_event, schema_revision
from storage.queries.calls import (
    add_segment,
    call_of_escalation,
    call_of_message,
    find_call,
    note_call,
    segments_of,
)
from storage.queries.contacts import ongoing_contacts
from storage.queries.escalations import (
    climb_escalation,
    escalation_of,
    get_escalation,
    lock_escalation,
    mark_notified,
    unresolved_escalation,
)
from storage.queries.follow_ups import (
    claim_follow_up,
    follow_ups_for_message,
    get_follow_up,
    mark_follow_up,
    pending_follow_up_of_kind,
)
from storage.queries.late_replies import (
    claim_late_reply,
    finish_late_reply,
    late_reply_claimed,
    mark_late_reply,
)
from storage.queries.leadership import hold_leader_lock, leader_lock_held, release_leader_lock
from storage.queries.messages import (
    claim_stale_messages,
    classification_of,
    count_unanswered_distress,
    find_message,
    get_message,
    insert_inbound,
    last_inbound,
    last_inbound_at,
    recent_inbound_texts,
    recent_texts_of_identity,
    reply_to,
    take_over_message,
    wrote_since,
)
from storage.queries.notices import attempts_for, notified_recipients, record_attempt
from storage.queries.outbox import (
    cancel_pending,
    claim_due,
    enqueue,
    enqueue_all,
    finish,
    outbox_row,
    retry_later,
)
from storage.queries.people import (
    find_or_add_person,
    find_or_create_person,
    find_person,
    get_person,
    identity_of_kind,
)
from storage.queries.staff import count_staff

__all__ = [
    "accept_request",
    "ack_link_use",
    "add_segment",
    "attempts_for",
    "audit",
    "call_of_escalation",
    "call_of_message",
    "cancel_pending",
    "claim_due",
    "claim_follow_up",
    "claim_late_reply",
    "claim_stale_messages",
    "classification_of",
    "count_unanswered_distress",
    "climb_escalation",
    "count_staff",
    "enqueue",
    "enqueue_all",
    "escalation_of",
    "find_call",
    "find_message",
    "find_or_add_person",
    "find_or_create_person",
    "find_person",
    "finish",
    "finish_late_reply",
    "follow_ups_for_message",
    "forget_request",
    "get_escalation",
    "get_follow_up",
    "mark_follow_up",
    "get_message",
    "get_person",
    "identity_of_kind",
    "handed_back",
    "handed_back_by",
    "history_of",
    "hold_leader_lock",
    "insert_inbound",
    "last_event",
    "last_inbound",
    "last_inbound_at",
    "late_reply_claimed",
    "mark_late_reply",
    "leader_lock_held",
    "lock_escalation",
    "mark_notified",
    "note_call",
    "notified_recipients",
    "ongoing_contacts",
    "outbox_row",
    "pending_follow_up_of_kind",
    "prune_accepted_requests",
    "recent_inbound_texts",
    "recent_texts_of_identity",
    "record_attempt",
    "release_leader_lock",
    "reply_to",
    "retry_later",
    "segments_of",
    "schema_revision",
    "store_api_token",
    "stored_api_token",
    "take_over_message",
    "wrote_since",
    "unresolved_escalation",
    "use_ack_link",
]
