"""SQLAlchemy tables for both stores, generated from the layer specs.

Each layer table has a surrogate ``fid`` (the OGC feature id), the layer's stored
fields, the geometry and its bounding box (``minx``…``maxy``, used for spatial
filtering on the embedded store, where no spatial index exists). The migrations in
``migrations/versions`` create exactly these tables; a test compares them.
"""

from __future__ import annotations

import sqlalchemy as sa

from layers.catalog import LAYERS, ON_OFFER, RELEASED
from layers.kinds import kind_of
from layers.schema import LayerSpec
from layers.store.types import Geometry4490

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

BBOX_COLUMNS = ("minx", "miny", "maxx", "maxy")
ROW_HASH_COMMENT = "Hash of the row as staged; NULL: unknown (staged before it was kept)."


def _layer_table(spec: LayerSpec) -> sa.Table:
    """A layer's table: released layers' rows carry ``release_id`` (readers see the release
    the ``stock_current`` pointer names) and ``row_hash`` (see
    :mod:`layers.store.release_rows`), ledgers' rows ``row_version``."""
    released = spec.released
    release = sa.Column(
        "release_id", sa.Integer, sa.ForeignKey("stock_releases.id"), nullable=False, index=True
    )
    row_hash = sa.Column("row_hash", sa.BigInteger, comment=ROW_HASH_COMMENT)
    version = sa.Column("row_version", sa.Integer, nullable=False, server_default=sa.text("1"))
    return sa.Table(
        spec.name,
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        *([release, row_hash] if released else []),
        *([version] if spec.ledger else []),
        *(
            sa.Column(f.name, kind_of(f).sql(), nullable=not f.required, comment=f"{f.zh} {f.en}")
            for f in spec.stored_fields
        ),
        sa.Column("geom", Geometry4490(), nullable=False),
        *(sa.Column(c, sa.Float, nullable=False) for c in BBOX_COLUMNS),
        sa.UniqueConstraint(*(["release_id"] if released else []), spec.id_field),
        sa.Index(None, "minx", "maxx", "miny", "maxy"),
        # PostGIS only: a spatial index, and validity — a typed column refuses a wrong
        # SRID but accepts invalid geometry.
        sa.Index(f"ix_{spec.name}_geom", "geom", postgresql_using="gist").ddl_if(
            dialect="postgresql"
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="geom_valid").ddl_if(dialect="postgresql"),
        comment=f"{spec.zh} {spec.en}",
    )


stock_releases = sa.Table(
    "stock_releases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("base_id", sa.Integer, sa.ForeignKey("stock_releases.id")),
    sa.Column("source_name", sa.Text, nullable=False),
    sa.Column("source_sha256", sa.Text, nullable=False),
    sa.Column("source", sa.LargeBinary, nullable=False),
    sa.Column("features", sa.Integer, nullable=False),
    sa.Column("data_sha256", sa.Text, nullable=False),
    sa.Column("report", sa.Text, nullable=False),
    sa.Column("staged_by", sa.Text, nullable=False),
    sa.Column("staged_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.Text),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("status IN ('staged', 'published', 'discarded')", name="status"),
    # One list staged per year at a time: a second import for the year is a conflict.
    sa.Index(
        "uq_stock_releases_staged_year",
        "year",
        unique=True,
        sqlite_where=sa.text("status = 'staged'"),
        postgresql_where=sa.text("status = 'staged'"),
    ),
    comment="存量可出让土地清单的各版本 (releases of the yearly stock list), kept for ever; "
    "the uploaded file is kept byte for byte.",
)

stock_current = sa.Table(
    "stock_current",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("release_id", sa.Integer, sa.ForeignKey("stock_releases.id"), nullable=False),
    sa.Column("switched_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("id = 1", name="one_row"),
    comment="The release in force: one row, switched in the publishing transaction.",
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Column("request_id", sa.Text),
    sa.CheckConstraint("length(trim(actor)) > 0", name="actor"),
    comment="Append-only: one row per change, written in the change's own transaction.",
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("layer", sa.Text, nullable=False),
    sa.Column("site_id", sa.Text, nullable=False),
    sa.Column("park_id", sa.Text, nullable=False),
    sa.Column("project", sa.Text, nullable=False),
    sa.Column("energy_tce", sa.Float, nullable=False),
    sa.Column("emissions", sa.Text, nullable=False),
    sa.Column("power_mva", sa.Float, nullable=False),
    sa.Column("substation_id", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reserved_by", sa.Text, nullable=False),
    sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("released_by", sa.Text),
    sa.Column("released_at", sa.DateTime(timezone=True)),
    sa.Column(
        "expires_on",
        sa.Date,
        comment="the last day it holds (Asia/Shanghai); none: until released",
    ),
    sa.Column("match_id", sa.Text, sa.ForeignKey("saved_matches.id")),
    sa.Column("release_reason", sa.Text),
    sa.CheckConstraint(f"layer IN ({', '.join(map(repr, ON_OFFER))})", name="layer"),
    sa.CheckConstraint("status IN ('active', 'released')", name="status"),
    sa.CheckConstraint("energy_tce >= 0 AND power_mva >= 0", name="needs"),
    # One active reservation per site: a second planner gets a conflict.
    sa.Index(
        "uq_reservations_active_site",
        "layer",
        "site_id",
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    ),
    comment="Sites reserved for signed projects; active ones draw down the park's energy "
    "quota and emission capacity and the substation's spare capacity.",
)

ledger_history = sa.Table(
    "ledger_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("layer", sa.Text, nullable=False),
    sa.Column("feature_id", sa.Text, nullable=False),
    sa.Column("quarter", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("before", sa.Text, nullable=False),
    sa.Column("after", sa.Text, nullable=False),
    sa.Column("changed_by", sa.Text, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "layer", "feature_id"),
    comment="Every quarterly ledger edit, with the values before and after.",
)

LAYER_TABLES: dict[str, sa.Table] = {name: _layer_table(spec) for name, spec in LAYERS.items()}

layer_versions = sa.Table(
    "layer_versions",
    metadata,
    sa.Column("layer", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column(
        "rows_version",
        sa.Integer,
        nullable=False,
        server_default=sa.text("0"),
        comment="Bumped when the layer's stored rows change (not by reservations).",
    ),
    comment="Bumped on every change of a layer; caches keyed by it (e.g. distance tables).",
)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("key_prefix", sa.Text, nullable=False),
    sa.Column("key_hash", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("role IN ('planner', 'land_bureau', 'admin')", name="role"),
    comment="API keys: only a SHA-256 hash of each key is kept.",
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column(
        "credential_id", sa.Integer, sa.ForeignKey("credentials.id"), nullable=False, index=True
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("kind IN ('browser', 'oauth')", name="kind"),
    comment="Browser sessions (/login) and OAuth2 access tokens (/oauth/token), each opened "
    "with a key: only a SHA-256 hash of each token is kept; ended on logout or when the "
    "key is revoked.",
)


saved_matches = sa.Table(
    "saved_matches",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("project", sa.Text, nullable=False),
    sa.Column("investor", sa.Text),
    sa.Column("layer", sa.Text, nullable=False),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("top", sa.Integer, nullable=False),
    sa.Column("excluded_limit", sa.Integer),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("versions", sa.Text, nullable=False),
    sa.Column("rerun_of", sa.Text, sa.ForeignKey("saved_matches.id")),
    sa.CheckConstraint(f"layer IN ({', '.join(map(repr, ON_OFFER))})", name="layer"),
    comment="Every match run from the workspace, as answered, with the data versions it "
    "used; append-only (a permalink reopens it as it was).",
)


def in_force(table: sa.Table, release: int | None = None) -> list[sa.ColumnElement[bool]]:
    """Conditions keeping the rows readers see: for released layers, those of ``release``
    or of the release the ``stock_current`` pointer names; every row of other layers."""
    if table.name not in RELEASED:
        return []
    if release is not None:
        return [table.c.release_id == release]
    pointer = sa.select(stock_current.c.release_id).where(stock_current.c.id == 1)
    return [table.c.release_id == pointer.scalar_subquery()]
