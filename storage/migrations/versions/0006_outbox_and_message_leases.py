"""outbox rows, notice attempts and leases on messages being handled

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:13:08
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_WHEN = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _TEXT(length=32), nullable=False),
        sa.Column("key", _TEXT(length=128), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("follow_up_id", sa.Integer(), nullable=True),
        sa.Column("recipient", _TEXT(length=64), nullable=True),
        sa.Column("status", _TEXT(length=16), nullable=False),
        sa.Column("due_at", _WHEN, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", _TEXT(length=64), nullable=True),
        sa.Column("claimed_until", _WHEN, nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("finished_at", _WHEN, nullable=True),
        sa.Column("result", _TEXT(length=200), nullable=True),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.ForeignKeyConstraint(["follow_up_id"], ["followup.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_outbox_escalation_id", ["escalation_id"], unique=False)
        batch_op.create_index("ix_outbox_follow_up_id", ["follow_up_id"], unique=False)

    op.create_table(
        "notice_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("recipient", _TEXT(length=64), nullable=False),
        sa.Column("sender", _TEXT(length=32), nullable=False),
        sa.Column("status", _TEXT(length=32), nullable=False),
        sa.Column("reason", _TEXT(length=200), nullable=False),
        sa.Column("at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notice_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_notice_attempt_escalation_id", ["escalation_id"], unique=False)
        batch_op.create_index("ix_notice_attempt_outbox_id", ["outbox_id"], unique=False)

    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taken_by", _TEXT(length=64), nullable=True))

    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", _TEXT(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", _WHEN, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_column("taken_by")
    op.drop_table("notice_attempt")
    op.drop_table("outbox")
