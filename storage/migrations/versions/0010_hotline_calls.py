"""hotline calls and the segments of them taken as a mother's words

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:30:00

(0009 is another branch's; the two are chained when they merge.)
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_WHEN = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hotline_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", _TEXT(length=128), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("line", _TEXT(length=64), nullable=False),
        sa.Column("agent_id", _TEXT(length=64), nullable=True),
        sa.Column("status", _TEXT(length=16), nullable=False),
        sa.Column("started_at", _WHEN, nullable=False),
        sa.Column("ended_at", _WHEN, nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("risk_level", _TEXT(length=16), nullable=False),
        sa.Column("risk_message_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.ForeignKeyConstraint(["risk_message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hotline_call", schema=None) as batch_op:
        batch_op.create_index("ix_hotline_call_call_id", ["call_id"], unique=True)
        batch_op.create_index("ix_hotline_call_person_id", ["person_id"], unique=False)
    op.create_table(
        "hotline_segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hotline_call_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("speaker", _TEXT(length=16), nullable=False),
        sa.Column("start_seconds", sa.Float(), nullable=False),
        sa.Column("end_seconds", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["hotline_call_id"], ["hotline_call.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("hotline_segment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hotline_segment_hotline_call_id", ["hotline_call_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("hotline_segment")
    op.drop_table("hotline_call")
