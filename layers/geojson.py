"""GeoJSON text for layer frames, restricted to the fields a caller may see.

Geometry is serialised by ``shapely.to_geojson`` in one vectorised call; properties by
``json.dumps``. The result is text, so the web layer can stream it without
re-encoding.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from layers.schema import FieldSpec


def plain(value: Any) -> Any:
    """A JSON-ready Python value: NaN/NA → None, numpy scalars → Python, dates → ISO.

    Non-finite numbers become None too: JSON has no Infinity, and a page that contains
    one fails to parse whole.
    """
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def features(
    frame: gpd.GeoDataFrame, fields: Sequence[FieldSpec], *, ids: Sequence[Any] | None = None
) -> list[str]:
    """One GeoJSON Feature (as JSON text) per row, with only ``fields`` as properties.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from layers.schema import FieldSpec
    >>> frame = gpd.GeoDataFrame({"name": ["一号地"], "secret": ["x"]},
    ...                          geometry=[shapely.Point(112.7, 37.6)], crs=4490)
    >>> import json
    >>> text = features(frame, [FieldSpec("name", "str", "名称", "name")], ids=[7])[0]
    >>> feature = json.loads(text)
    >>> feature["id"], feature["geometry"]["coordinates"], feature["properties"]
    (7, [112.7, 37.6], {'name': '一号地'})
    """
    geometries = shapely.to_geojson(frame.geometry.values.to_numpy())
    names = [f.name for f in fields]
    columns = [_plain_column(frame[name]) for name in names]
    rows = zip(*columns, strict=True) if columns else itertools.repeat((), len(geometries))
    out = []
    for i, (geometry, row) in enumerate(zip(geometries, rows, strict=True)):
        head = "" if ids is None else f', "id": {_dumps(plain(ids[i]))}'
        out.append(
            f'{{"type": "Feature"{head}, "geometry": {geometry or "null"}, '
            f'"properties": {_dumps(dict(zip(names, row, strict=True)))}}}'
        )
    return out


_AS_IS = (str, dt.date)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _plain_column(series: pd.Series) -> list[Any]:
    """A column as JSON-ready Python values (see :func:`plain`), converted column-wise."""
    if series.dtype.kind == "f":
        values = series.to_numpy(dtype="float64")
        return [v if math.isfinite(v) else None for v in values.tolist()]
    if series.dtype == object:  # text and dates (orjson writes dates as ISO 8601)
        return [v if v is None or type(v) in _AS_IS else plain(v) for v in series.tolist()]
    return [None if v is pd.NA or v is None else v for v in series.tolist()]
