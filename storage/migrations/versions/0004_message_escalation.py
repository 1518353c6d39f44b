"""the escalation a message opened or joined

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:08:22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_message_escalation_id", "escalation", ["escalation_id"], ["id"], use_alter=True
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("fk_message_escalation_id", type_="foreignkey")
        batch_op.drop_column("escalation_id")
