"""Reservations of sites for signed projects, ledger row versions and ledger history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("site_id", sa.Text(), nullable=False),
        sa.Column("park_id", sa.Text(), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("energy_tce", sa.Float(), nullable=False),
        sa.Column("emissions", sa.Text(), nullable=False),
        sa.Column("power_mva", sa.Float(), nullable=False),
        sa.Column("substation_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reserved_by", sa.Text(), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.Text(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("layer IN ('parcels', 'factories')", name=op.f("ck_reservations_layer")),
        sa.CheckConstraint("status IN ('active', 'released')", name=op.f("ck_reservations_status")),
        sa.CheckConstraint(
            "energy_tce >= 0 AND power_mva >= 0", name=op.f("ck_reservations_needs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        comment="Sites reserved for signed projects; active ones draw down the park's energy "
        "quota and emission capacity and the substation's spare capacity.",
    )
    op.create_index(
        "uq_reservations_active_site",
        "reservations",
        ["layer", "site_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_table(
        "ledger_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("feature_id", sa.Text(), nullable=False),
        sa.Column("quarter", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_history")),
        comment="Every quarterly ledger edit, with the values before and after.",
    )
    op.create_index("ix_ledger_history_layer_feature_id", "ledger_history", ["layer", "feature_id"])
    for table in ("parks", "factories", "infrastructure"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("row_version", sa.Integer(), nullable=False, server_default=sa.text("1"))
            )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER ledger_history_append_only BEFORE UPDATE OR DELETE ON ledger_history "
            "FOR EACH ROW EXECUTE FUNCTION geo_service_refuse('ledger history is append-only')"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_history_guard_{operation.lower()} BEFORE {operation} "
                "ON ledger_history FOR EACH ROW "
                "BEGIN SELECT RAISE(ABORT, 'ledger history is append-only'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("ledger history is kept: a store is never migrated back past 0003")
