"""SQLAlchemy tables for both stores, generated from the layer specs.

Each layer table has a surrogate ``fid`` (the OGC feature id), the layer's stored
fields, the geometry and its bounding box (``minx``…``maxy``, used for spatial
filtering on the embedded store, where no spatial index exists). The migrations in
``migrations/versions`` create exactly these tables; a test compares them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from layers.catalog import LAYERS
from layers.schema import FieldSpec, LayerSpec
from layers.store.types import Geometry4490

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

BBOX_COLUMNS = ("minx", "miny", "maxx", "maxy")


def _column_type(f: FieldSpec) -> sa.types.TypeEngine[Any]:
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "str": sa.Text(),
        "int": sa.Integer(),
        "float": sa.Float(),
        "bool": sa.Boolean(),
        "date": sa.Date(),
    }
    return types[f.kind]


def _layer_table(spec: LayerSpec) -> sa.Table:
    return sa.Table(
        spec.name,
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        *(
            sa.Column(f.name, _column_type(f), nullable=not f.required, comment=f"{f.zh} {f.en}")
            for f in spec.stored_fields
        ),
        sa.Column("geom", Geometry4490(), nullable=False),
        *(sa.Column(c, sa.Float, nullable=False) for c in BBOX_COLUMNS),
        sa.UniqueConstraint(spec.id_field),
        sa.Index(None, "minx", "maxx", "miny", "maxy"),
        # PostGIS only: a spatial index, and validity — a typed column refuses a wrong
        # SRID but accepts invalid geometry.
        sa.Index(f"ix_{spec.name}_geom", "geom", postgresql_using="gist").ddl_if(
            dialect="postgresql"
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="geom_valid").ddl_if(dialect="postgresql"),
        comment=f"{spec.zh} {spec.en}",
    )


LAYER_TABLES: dict[str, sa.Table] = {name: _layer_table(spec) for name, spec in LAYERS.items()}

layer_versions = sa.Table(
    "layer_versions",
    metadata,
    sa.Column("layer", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
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
