"""Server-side browser sessions and OAuth2 access tokens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('browser', 'oauth')", name=op.f("ck_sessions_kind")),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_sessions_credential_id_credentials"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
        comment="Browser sessions (/login) and OAuth2 access tokens (/oauth/token), each "
        "opened with a key: only a SHA-256 hash of each token is kept; ended on logout or "
        "when the key is revoked.",
    )
    op.create_index("ix_sessions_credential_id", "sessions", ["credential_id"])


def downgrade() -> None:
    op.drop_index("ix_sessions_credential_id", table_name="sessions")
    op.drop_table("sessions")
