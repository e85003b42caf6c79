"""Geometries kept compactly, as WKB, and made into shapely objects when asked for; with
their areas, which a build reads for every site.

A zone keeps its sites' geometries in its metric CRS for the few things that read them
after the build: the sites a result shows (their nearest road), the parcels an assembly
joins, the width of each parcel (once) and the next build, which takes those of unchanged
sites instead of projecting them again. As GEOS objects, a parcel of five corners takes
about 400 bytes; as WKB, 93 and the 41 of its Python ``bytes`` object and pointer. At
100,000 parcels that is 27 MB less, against about 0.14 s to make them all into objects
again. A request makes only the few it reads, and a build with the previous zone none:
what it needs of an unchanged site is its area (kept here), its utility pairs and its
road distances (:mod:`matching.zone_reuse`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Geometries = npt.NDArray[np.object_]


@dataclass(frozen=True, eq=False)
class Shapes:
    """Geometries as WKB, exact to the bit (coordinates are written as they are)."""

    wkb: npt.NDArray[np.object_]
    area_m2: FloatArray
    """Each geometry's area, m² (in a metric CRS; NaN: none)."""

    @classmethod
    def of(cls, geometries: Geometries) -> Shapes:
        wkb = np.asarray(shapely.to_wkb(geometries), dtype=object)
        return cls(wkb, np.asarray(shapely.area(geometries), dtype=float))

    def __len__(self) -> int:
        return len(self.wkb)

    def __getitem__(self, rows: IntArray | slice) -> Geometries:
        """The geometries of ``rows``, as new shapely objects."""
        return np.asarray(shapely.from_wkb(self.wkb[rows]), dtype=object)
