"""A second counter per layer, moved only when the layer's stored rows change: a
reservation moves what readers see of a layer (``version``) but no stored row, so a
service can patch its zone in memory instead of reading the layer again (issue 16,
item 1).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 12:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "layer_versions",
        sa.Column(
            "rows_version",
            sa.Integer(),
            nullable=False,
            server_default=sa.text("0"),
            comment="Bumped when the layer's stored rows change (not by reservations).",
        ),
    )
    # Unknown before now: taken as moved with every change so far.
    op.execute("UPDATE layer_versions SET rows_version = version")


def downgrade() -> None:
    raise NotImplementedError(
        "layer versions keep their rows version: a store is never migrated back past 0008"
    )
