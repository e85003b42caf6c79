"""Saved matches: every match run from the workspace, as answered, append-only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_REFUSAL = "saved matches are kept as they were"


def upgrade() -> None:
    op.create_table(
        "saved_matches",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("investor", sa.Text(), nullable=True),
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("top", sa.Integer(), nullable=False),
        sa.Column("excluded_limit", sa.Integer(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("rerun_of", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "layer IN ('parcels', 'factories')", name=op.f("ck_saved_matches_layer")
        ),
        sa.ForeignKeyConstraint(
            ["rerun_of"], ["saved_matches.id"], name=op.f("fk_saved_matches_rerun_of_saved_matches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_matches")),
        comment="Every match run from the workspace, as answered, with the data versions it "
        "used; append-only (a permalink reopens it as it was).",
    )
    op.create_index("ix_saved_matches_created_at", "saved_matches", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER saved_matches_append_only BEFORE UPDATE OR DELETE ON saved_matches "
            f"FOR EACH ROW EXECUTE FUNCTION geo_service_refuse('{_REFUSAL}')"
        )
        op.execute(
            "CREATE TRIGGER saved_matches_no_truncate BEFORE TRUNCATE ON saved_matches "
            f"FOR EACH STATEMENT EXECUTE FUNCTION geo_service_refuse('{_REFUSAL}')"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER saved_matches_guard_{operation.lower()} BEFORE {operation} "
                "ON saved_matches FOR EACH ROW "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("saved matches are kept: a store is never migrated back past 0005")
