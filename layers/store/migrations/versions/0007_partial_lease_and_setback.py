"""Factories that may be leased in part (divisible, smallest lettable unit) and the
parcels' building setback, for partial leases and net buildable area (issue 15, items 8
and 9).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "factories",
        sa.Column(
            "divisible",
            sa.Boolean(),
            nullable=True,
            comment="可分割出租 divisible: may be leased in part",
        ),
    )
    op.add_column(
        "factories",
        sa.Column(
            "unit_m2", sa.Float(), nullable=True, comment="最小分租单元 smallest lettable unit"
        ),
    )
    op.add_column(
        "parcels",
        sa.Column(
            "setback_m",
            sa.Float(),
            nullable=True,
            comment="建筑退线 building setback from the boundary",
        ),
    )


def downgrade() -> None:
    raise NotImplementedError(
        "factories keep their lettable units and parcels their setbacks: a store is never "
        "migrated back past 0007"
    )
