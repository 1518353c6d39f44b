"""acknowledgement links that were used, so each acts once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_WHEN = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ack_link_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", _TEXT(length=64), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("recipient", _TEXT(length=64), nullable=False),
        sa.Column("action", _TEXT(length=16), nullable=False),
        sa.Column("used_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_id"),
    )
    with op.batch_alter_table("ack_link_use", schema=None) as batch_op:
        batch_op.create_index("ix_ack_link_use_escalation_id", ["escalation_id"], unique=False)


def downgrade() -> None:
    op.drop_table("ack_link_use")
