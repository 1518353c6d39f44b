"""signed callbacks let in (the replay guard) and API access tokens, shared by every process

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_WHEN = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accepted_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", _TEXT(length=32), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
        sa.Column("nonce", _TEXT(length=128), nullable=False),
        sa.Column("fingerprint", _TEXT(length=64), nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "sent_at", "nonce", name="uq_accepted_request_signed"),
    )
    with op.batch_alter_table("accepted_request", schema=None) as batch_op:
        batch_op.create_index("ix_accepted_request_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _TEXT(length=128), nullable=False),
        sa.Column("value_encrypted", _TEXT(), nullable=False),
        sa.Column("fetched_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("accepted_request")
