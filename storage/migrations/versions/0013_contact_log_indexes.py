"""indexes for the staff contact log (keyset pages newest first, one worker's contacts) and the
reports (each service type's contacts by time)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:00:00

"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contact_started_id", "contact", ["started_at", "id"], unique=False)
    op.create_index(
        "ix_contact_worker_started", "contact", ["handled_by", "started_at", "id"], unique=False
    )
    op.create_index(
        "ix_contact_service_started",
        "contact",
        ["service_type", "started_at", "person_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contact_service_started", table_name="contact")
    op.drop_index("ix_contact_worker_started", table_name="contact")
    op.drop_index("ix_contact_started_id", table_name="contact")
