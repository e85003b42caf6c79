"""GeoJSON text for layer frames, restricted to the fields a caller may see.

Geometry is serialised by ``shapely.to_geojson`` in one vectorised call; properties by
``json.dumps``. The result is text, so the web layer can stream it without
re-encoding.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
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
    columns = [(f.name, frame[f.name].astype(object).to_numpy()) for f in fields]
    out = []
    for i, geometry in enumerate(geometries):
        properties = {name: plain(values[i]) for name, values in columns}
        head = {"type": "Feature", "id": plain(ids[i])} if ids is not None else {"type": "Feature"}
        text = json.dumps(head, ensure_ascii=False)[:-1]
        out.append(
            f'{text}, "geometry": {geometry if geometry is not None else "null"}, '
            f'"properties": {json.dumps(properties, ensure_ascii=False)}}}'
        )
    return out
