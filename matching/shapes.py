"""Sites' geometries in the zone's metric CRS, projected from those stored when asked for;
with their areas there, which a build reads for every site.

A zone keeps its sites' geometries in its metric CRS for the few things that read them
after the build: the sites a result shows (their nearest road), the parcels an assembly
joins, the width of each parcel (once) and a straight-line distance when a request asks
for one. The zone's frames hold every site's stored geometry (EPSG:4490) already: a
:class:`Shapes` keeps those same objects, with the zone's CRS, and projects the rows read,
exactly as the build projected them (:func:`projected`, to the bit). As GEOS objects in a
second CRS, a parcel of five corners would take about 400 bytes more; as WKB, 134 (93 and
its ``bytes`` object and pointer), and writing it held the GIL for 0.6 µs a site, a
tenth of the time a build held it. A request projects only the few it reads, and a
build with the previous zone those of unchanged sites only if a road or node changed:
what it needs of an unchanged site is its area (kept here), its utility pairs and its
road distances (:mod:`matching.zone_reuse`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from geopandas.array import GeometryArray

from layers.crs import STORAGE_EPSG, epsg_of, stored_corners_in
from matching.outlines import Corners

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Geometries = npt.NDArray[np.object_]


def projected(stored: GeometryArray, epsg: int) -> Geometries:
    """Geometries (with their CRS) in the CRS ``epsg``, as new shapely objects: PROJ
    projects each point alone, so a site projected with others or alone comes out the
    same to the bit."""
    return np.asarray(stored.to_crs(epsg))


def projected_corners(stored: GeometryArray, epsg: int) -> tuple[Geometries, Corners]:
    """:func:`projected`, to the bit, with the projected geometries' corners (as geopandas
    projects: the corners read, projected by PROJ and set in copies of the geometries);
    kept, they need not be read again from the geometries made."""
    data = np.asarray(stored)
    if epsg_of(stored.crs) != STORAGE_EPSG or shapely.has_z(data).any():
        out = projected(stored, epsg)
        return out, shapely.get_coordinates(out, return_index=True)
    corners, owner = stored_corners_in(data, epsg)
    return shapely.set_coordinates(data.copy(), corners), (corners, owner)


@dataclass(frozen=True, eq=False)
class Shapes:
    """Geometries in a metric CRS, projected from ``stored`` when read."""

    stored: GeometryArray
    """The geometries as stored, with their CRS (the objects of the layer's frame)."""
    epsg: int
    """The metric CRS."""
    area_m2: FloatArray
    """Each geometry's area, m², in that CRS (NaN: none)."""

    def __len__(self) -> int:
        return len(self.stored)

    def __getitem__(self, rows: IntArray | slice) -> Geometries:
        """The geometries of ``rows`` in the metric CRS, as new shapely objects."""
        return projected(self.stored[rows], self.epsg)
