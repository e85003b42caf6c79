"""Column types shared by both stores."""

from __future__ import annotations

from typing import Any

import shapely
from geoalchemy2 import Geometry
from geoalchemy2.shape import to_shape
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import LargeBinary, TypeDecorator, TypeEngine

from layers.crs import STORAGE_EPSG


class Geometry4490(TypeDecorator[shapely.Geometry]):
    """A shapely geometry in EPSG:4490.

    PostGIS: an SRID-typed ``geometry(GEOMETRY, 4490)`` column (GeoAlchemy2), so a
    wrong SRID is refused by the database. SQLite (the embedded store, which has no
    spatial extension without a system library): ISO WKB in a BLOB; spatial filtering
    there uses the bounding-box columns every layer table carries.
    """

    impl = Geometry
    cache_ok = True

    def __init__(self) -> None:
        # The GiST index is created by the migration, where it is visible and named.
        super().__init__(geometry_type="GEOMETRY", srid=STORAGE_EPSG, spatial_index=False)

    def load_dialect_impl(self, dialect: Dialect | None) -> TypeEngine[Any]:
        if dialect is not None and dialect.name == "sqlite":
            return dialect.type_descriptor(LargeBinary())
        return self.impl_instance

    def bind_expression(self, bindvalue: BindParameter[Any]) -> Any:
        # Values are bound as EWKB (hex on PostGIS), which carries the SRID itself.
        return bindvalue

    def process_bind_param(self, value: shapely.Geometry | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return shapely.to_wkb(
                shapely.set_srid(value, STORAGE_EPSG), hex=True, include_srid=True
            )
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> shapely.Geometry | None:
        if value is None:
            return None
        if dialect.name == "postgresql":
            geometry: shapely.Geometry = to_shape(value)
        else:
            geometry = shapely.from_wkb(value)
        return geometry
