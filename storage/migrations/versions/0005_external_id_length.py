"""room for every channel's longest message id (128 → 512 characters)

The care group stores "group_id:message_id", each part up to 128 characters: on PostgreSQL a
longer key than 128 was refused on every retry, so the message was never stored. Downgrading
fails while a longer id is stored: shortening it would lose what de-duplicates retries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:31:11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = {"message": True, "late_reply": False}  # table: external_id nullable


def upgrade() -> None:
    _external_id(sa.String(length=128), sa.String(length=512))


def downgrade() -> None:
    _external_id(sa.String(length=512), sa.String(length=128))


def _external_id(existing: sa.String, wanted: sa.String) -> None:
    for table, nullable in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "external_id", existing_type=existing, type_=wanted, existing_nullable=nullable
            )
