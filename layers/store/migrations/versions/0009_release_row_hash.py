"""A hash of each released row as it was staged, so that a service holding one stock
list reads of the next only the parcels that differ (issue 16, "a new list's zone in
≤ 2 s"). Rows staged before keep none, and are read whole once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "parcels",
        sa.Column(
            "row_hash",
            sa.BigInteger(),
            nullable=True,
            comment="Hash of the row as staged; NULL: unknown (staged before it was kept).",
        ),
    )


def downgrade() -> None:
    raise NotImplementedError(
        "released rows keep their hashes: a store is never migrated back past 0009"
    )
