"""Some rows of a frame replaced by newer ones, the rest shared."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from layers.values import is_null


def with_rows(
    frame: gpd.GeoDataFrame, positions: npt.NDArray[np.int64], rows: pd.DataFrame
) -> gpd.GeoDataFrame:
    """``frame`` with its rows at ``positions`` taken from ``rows`` (aligned by position,
    with at least ``frame``'s columns), as a new frame: only the columns whose values
    differ there are copied (pandas copy-on-write shares the others).

    A categorical column is made again from its values, so its categories are what a
    frame of all the new values would have.

    Examples
    --------
    >>> frame = pd.DataFrame({"status": pd.Categorical(["available", "available"]),
    ...                       "area": [1.0, 2.0]})
    >>> new = with_rows(frame, np.array([1]), pd.DataFrame({"status": ["reserved"],
    ...                                                      "area": [2.0]}))
    >>> list(new["status"]), list(new["status"].cat.categories), list(frame["status"])
    (['available', 'reserved'], ['available', 'reserved'], ['available', 'available'])
    """
    out = frame.copy(deep=False)
    if not len(positions):
        return out
    before = frame.take(positions).to_dict("list")  # a few rows: plain values, at once
    after = rows.to_dict("list")
    for name in frame.columns:
        if all(_same(a, b) for a, b in zip(before[name], after[name], strict=True)):
            continue
        new = rows[name]
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            values = frame[name].astype(object).to_numpy(copy=True)
            values[positions] = new.astype(object).to_numpy()
            out[name] = pd.Series(values, index=frame.index).astype("category")
        else:
            column = frame[name].copy()
            column.iloc[positions] = new.array
            out[name] = column
    return out


def _same(a: object, b: object) -> bool:
    """Equal values, missing ones (None, NaN, NA) all equal."""
    if is_null(a) or is_null(b):
        return is_null(a) and is_null(b)
    return bool(a == b)
