"""messages to mothers through the outbox: late replies' rows, check-in rounds

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("late_reply_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_late_reply_id", "late_reply", ["late_reply_id"], ["id"]
        )
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("round", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.drop_column("round")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_late_reply_id", type_="foreignkey")
        batch_op.drop_column("late_reply_id")
