"""A column of Python objects worked on once per distinct object, not once per row.

A zone's coded columns (statuses, land uses) and planned dates take a handful of values
over a million rows, and the store's read holds each value once per column: every row of
a status column points to one of four ``str`` objects (:class:`layers.store.rows._Column`).
Comparing text row by row (``isin``, ``==``) or hashing it (``factorize``) costs 10–30 ns a
row, all of it holding the GIL, and a zone build does it for seventeen facts. Telling the
rows apart by the objects they point to instead — the array's pointers, as integers —
costs a few ns a row, and the work proper (a comparison, a date parsed) is done once per
object. Equal values held in different objects are judged once each, with the same
answer, so the result is exactly that of the row-by-row work. A column whose rows mostly
hold objects of their own (frames not read from the store) is factorised by value, as
before, only slower by the pointers' pass.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

Objects = npt.NDArray[np.object_]

CAST_MAX = 4096
"""Distinct objects up to which :func:`by_object` makes them again from their addresses."""


def by_object(values: Objects) -> tuple[npt.NDArray[np.intp], Objects]:
    """Each row's code and the distinct values the codes index, in order of first
    appearance: ``distinct[codes]`` equals ``values`` (a missing value may come back as
    ``None``). Rows are told apart by the objects they point to; where most rows hold an
    object of their own (frames not read from the store), by their values (hashed).

    Examples
    --------
    >>> import numpy as np
    >>> codes, distinct = by_object(np.array(["done", "planned", "done", None], dtype=object))
    >>> distinct[codes].tolist()
    ['done', 'planned', 'done', None]
    """
    held = np.ascontiguousarray(values, dtype=object).ravel()
    # An object array is an array of pointers: read as integers, they are factorised as
    # integers are, with no call into Python per row. ``held`` keeps the objects alive.
    addresses = np.ctypeslib.as_array((ctypes.c_size_t * len(held)).from_address(held.ctypes.data))
    codes, firsts = pd.factorize(addresses.view(np.int64))
    if 4 * len(firsts) > len(held):
        codes, values = pd.factorize(held)
        distinct = np.full(len(values) + 1, None, dtype=object)  # a missing value's code,
        distinct[:-1] = values  # -1, takes the last
        return codes.astype(np.intp, copy=False), distinct
    if len(firsts) <= CAST_MAX:
        # The distinct addresses made objects again (``held`` keeps them alive; each
        # made is a new reference): 1 µs an object, where finding a row of each takes
        # four passes over the rows, 8 ms a million.
        distinct = np.empty(len(firsts), dtype=object)
        for k, address in enumerate(firsts.tolist()):
            distinct[k] = ctypes.cast(address, ctypes.py_object).value
        return codes.astype(np.intp, copy=False), distinct
    # Codes are numbered as they first appear: a row of a new one raises the running maximum.
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1))
    return codes.astype(np.intp, copy=False), held[first]


def each_distinct(
    values: Objects, judge: Callable[[Objects], npt.NDArray[Any]]
) -> npt.NDArray[Any]:
    """``judge(values)``, a row-wise function of an object array, worked out once per
    distinct object (``judge`` is given those, and must answer row for row).

    Examples
    --------
    >>> import numpy as np
    >>> column = np.array(["done", None, "done", "planned"], dtype=object)
    >>> each_distinct(column, lambda v: v == "done").tolist()
    [True, False, True, False]
    """
    codes, distinct = by_object(values)
    return np.asarray(judge(distinct))[codes]


def categorical(values: Objects) -> pd.Categorical:
    """``values`` as ``pd.Categorical(values)`` makes them (sorted categories, missing
    values coded -1), hashing each distinct object instead of each row.

    Examples
    --------
    >>> import numpy as np
    >>> kinds = categorical(np.array(["road", None, "park", "road"], dtype=object))
    >>> kinds.categories.tolist(), kinds.codes.tolist()
    (['park', 'road'], [1, -1, 0, 1])
    """
    codes, distinct = by_object(values)
    per_object = pd.Categorical(distinct)
    return pd.Categorical.from_codes(per_object.codes[codes], dtype=per_object.dtype)
