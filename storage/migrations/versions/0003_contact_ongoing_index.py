"""index for a person's ongoing contact, looked up on every message

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 03:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contact_ongoing",
        "contact",
        ["person_id", "service_type", "channel", "ended_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contact_ongoing", table_name="contact")
