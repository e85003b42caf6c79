"""Reservations: the day each one expires, the saved match it was made from, and the
reason it was released.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "reservations",
        sa.Column(
            "expires_on",
            sa.Date(),
            nullable=True,
            comment="the last day it holds (Asia/Shanghai); none: until released",
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("reservations", sa.Column("match_id", sa.Text(), nullable=True))
        op.create_foreign_key(
            op.f("fk_reservations_match_id_saved_matches"),
            "reservations",
            "saved_matches",
            ["match_id"],
            ["id"],
        )
    else:  # SQLite adds a column with its reference, but cannot add a constraint later
        op.execute(
            "ALTER TABLE reservations ADD COLUMN match_id TEXT "
            "CONSTRAINT fk_reservations_match_id_saved_matches REFERENCES saved_matches (id)"
        )
    op.add_column("reservations", sa.Column("release_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError(
        "reservations keep their expiry, match and release reason: a store is never "
        "migrated back past 0006"
    )
