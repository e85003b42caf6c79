"""Stock-list releases, the pointer to the one in force, and the audit log.

Parcels become rows of a release (``release_id``); a store made by 0001 keeps its parcels
as release 1, published. The view ``parcels_in_force`` shows SQL clients the parcels of
the release in force. Triggers keep history immutable on both databases: published or
discarded releases and their parcel rows cannot be changed or deleted, and the audit log
is append-only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 15:45:00
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_STAGED = sa.text("status = 'staged'")

# Each guard: (table, operations, SQLite WHEN condition or None, message).
_GUARDS = (
    ("audit_log", ("UPDATE", "DELETE"), None, "audit_log is append-only"),
    (
        "stock_releases",
        ("UPDATE",),
        "OLD.status <> 'staged'",
        "a published or discarded release cannot be changed",
    ),
    ("stock_releases", ("DELETE",), None, "releases are kept for ever"),
    (
        "parcels",
        ("UPDATE", "DELETE"),
        "(SELECT status FROM stock_releases WHERE id = OLD.release_id) <> 'staged'",
        "the rows of a published or discarded release cannot be changed",
    ),
    (
        "parcels",
        ("INSERT",),
        "(SELECT status FROM stock_releases WHERE id = NEW.release_id) <> 'staged'",
        "rows can only be added to a staged release",
    ),
)

_PG_FUNCTIONS = """
CREATE FUNCTION geo_service_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END $$;

CREATE FUNCTION geo_service_release_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'staged' THEN
    RAISE EXCEPTION 'a published or discarded release cannot be changed'
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION geo_service_parcels_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  release_status text;
BEGIN
  SELECT status INTO release_status FROM stock_releases
   WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.release_id ELSE OLD.release_id END;
  IF release_status IS DISTINCT FROM 'staged' THEN
    RAISE EXCEPTION 'rows of release % (%) cannot change',
      CASE WHEN TG_OP = 'INSERT' THEN NEW.release_id ELSE OLD.release_id END, release_status
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION geo_service_refuse('audit_log is append-only');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION geo_service_refuse('audit_log is append-only');
CREATE TRIGGER stock_releases_frozen BEFORE UPDATE ON stock_releases
  FOR EACH ROW EXECUTE FUNCTION geo_service_release_frozen();
CREATE TRIGGER stock_releases_kept BEFORE DELETE ON stock_releases
  FOR EACH ROW EXECUTE FUNCTION geo_service_refuse('releases are kept for ever');
CREATE TRIGGER stock_releases_no_truncate BEFORE TRUNCATE ON stock_releases
  FOR EACH STATEMENT EXECUTE FUNCTION geo_service_refuse('releases are kept for ever');
CREATE TRIGGER parcels_frozen BEFORE INSERT OR UPDATE OR DELETE ON parcels
  FOR EACH ROW EXECUTE FUNCTION geo_service_parcels_frozen();
CREATE TRIGGER parcels_no_truncate BEFORE TRUNCATE ON parcels
  FOR EACH STATEMENT EXECUTE FUNCTION geo_service_refuse('releases are kept for ever');
"""


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "stock_releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("base_id", sa.Integer(), nullable=True),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.Text(), nullable=False),
        sa.Column("source", sa.LargeBinary(), nullable=False),
        sa.Column("features", sa.Integer(), nullable=False),
        sa.Column("data_sha256", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("staged_by", sa.Text(), nullable=False),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('staged', 'published', 'discarded')", name=op.f("ck_stock_releases_status")
        ),
        sa.ForeignKeyConstraint(
            ["base_id"],
            ["stock_releases.id"],
            name=op.f("fk_stock_releases_base_id_stock_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_releases")),
        comment="存量可出让土地清单的各版本 (releases of the yearly stock list), kept for ever; "
        "the uploaded file is kept byte for byte.",
    )
    op.create_index(
        "uq_stock_releases_staged_year",
        "stock_releases",
        ["year"],
        unique=True,
        sqlite_where=_STAGED,
        postgresql_where=_STAGED,
    )
    op.create_table(
        "stock_current",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_stock_current_one_row")),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["stock_releases.id"],
            name=op.f("fk_stock_current_release_id_stock_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_current")),
        comment="The release in force: one row, switched in the publishing transaction.",
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.CheckConstraint("length(trim(actor)) > 0", name=op.f("ck_audit_log_actor")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        comment="Append-only: one row per change, written in the change's own transaction.",
    )

    # Parcels already stored (a 0001 store) become release 1, published and in force.
    with op.batch_alter_table("parcels") as batch:
        batch.add_column(sa.Column("release_id", sa.Integer(), nullable=True))
    count = bind.execute(sa.text("SELECT count(*) FROM parcels")).scalar_one()
    if count:
        now = dt.datetime.now(dt.UTC)
        year = bind.execute(sa.text("SELECT max(list_year) FROM parcels")).scalar() or now.year
        empty = hashlib.sha256(b"").hexdigest()
        bind.execute(
            sa.text(
                "INSERT INTO stock_releases (id, year, status, source_name, source_sha256, "
                "source, features, data_sha256, report, staged_by, staged_at, decided_by, "
                "decided_at) VALUES (1, :year, 'published', '(stored before releases)', "
                ":empty, :blank, :count, '', '{}', 'migration 0002', :now, "
                "'migration 0002', :now)"
            ),
            {"year": year, "empty": empty, "blank": b"", "count": count, "now": now},
        )
        bind.execute(sa.text("UPDATE parcels SET release_id = 1"))
        bind.execute(
            sa.text("INSERT INTO stock_current (id, release_id, switched_at) VALUES (1, 1, :now)"),
            {"now": now},
        )
        if bind.dialect.name == "postgresql":
            bind.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('stock_releases', 'id'), 1)")
            )
    with op.batch_alter_table("parcels") as batch:
        batch.alter_column("release_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("uq_parcels_parcel_id", type_="unique")
        batch.create_unique_constraint(
            "uq_parcels_release_id_parcel_id", ["release_id", "parcel_id"]
        )
        batch.create_foreign_key(
            "fk_parcels_release_id_stock_releases", "stock_releases", ["release_id"], ["id"]
        )
        batch.create_index("ix_parcels_release_id", ["release_id"])

    # For SQL users (QGIS on PostGIS, reports): the parcels in force, as a plain view.
    op.execute(
        "CREATE VIEW parcels_in_force AS SELECT p.* FROM parcels p "
        "JOIN stock_current c ON c.id = 1 AND p.release_id = c.release_id"
    )
    if bind.dialect.name == "postgresql":
        op.execute(_PG_FUNCTIONS)
    else:
        for table, operations, when, message in _GUARDS:
            for operation in operations:
                condition = f" WHEN {when}" if when else ""
                op.execute(
                    f"CREATE TRIGGER {table}_guard_{operation.lower()} BEFORE {operation} "
                    f"ON {table} FOR EACH ROW{condition} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )


def downgrade() -> None:
    raise NotImplementedError(
        "releases and the audit log are history: a store is never migrated back past 0002"
    )
