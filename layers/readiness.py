"""Readiness of a parcel for immediate transfer (净地出让), derived from its facts.

The level is never typed in: it follows from the facts on the parcel.

- ``ready``: the seven regional assessments are done (or exempt), the land is acquired,
  cleared and levelled, all utilities of 七通一平 are connected, and the standard-land
  control indicators (investment intensity ≥, tax per 亩 ≥, energy intensity ≤, the
  emission standard) and the plot ratio are set.
- ``not_ready``: the land is not yet in hand (not acquired or not cleared); nothing
  else can make it transferable soon.
- ``partly_ready``: the land is in hand, but named gaps remain.

A fact whose status is ``planned`` counts as met on a date ``as_of`` at or after its
expected date, so a project that starts in a year can be matched with land that will
be ready by then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from layers.distinct import by_object, each_distinct
from layers.vocabulary import FACTS, INDICATORS, READINESS

BLOCKING_FACTS = ("acq", "clear")
# Standard-land "4+N" indicators that must be set before transfer (investment intensity
# and tax per 亩 as minimums, energy intensity as a maximum, the emission standard) and
# the plot ratio of the planning conditions. A bound on the other side does not count.
REQUIRED_INDICATORS: dict[str, tuple[str, ...]] = {
    "inv": ("lo",),
    "tax": ("lo",),
    "egy": ("hi",),
    "far": ("lo", "hi"),
}
EMISSION_STANDARD = "env_std"


class ReadinessLevel(StrEnum):
    READY = "ready"
    PARTLY_READY = "partly_ready"
    NOT_READY = "not_ready"

    @property
    def zh(self) -> str:
        return READINESS[self.value][0]


@dataclass(frozen=True)
class Readiness:
    level: ReadinessLevel
    gaps: tuple[str, ...]
    """Human-readable names of what is missing, in Chinese."""


def fact_met(status: pd.Series, date: pd.Series, *, as_of: dt.date | None) -> np.ndarray:
    """Whether each fact is met (done or exempt; planned and due by ``as_of``)."""
    codes, distinct = by_object(status.to_numpy(dtype=object))  # told apart once
    met = _done(distinct)[codes]
    if as_of is not None:
        due = pd.to_datetime(date, errors="coerce").dt.date.to_numpy(dtype=object)
        by_date = np.array([d is not None and d == d and d <= as_of for d in due], dtype=bool)
        met |= _planned(distinct)[codes] & by_date
    return np.asarray(met)


def _done(status: np.ndarray) -> np.ndarray:
    return pd.Series(status, dtype=object).isin(["done", "exempt"]).to_numpy(dtype=bool)


def _planned(status: np.ndarray) -> np.ndarray:
    return np.asarray(status == "planned", dtype=bool)


def _named(values: np.ndarray) -> np.ndarray:
    return np.array([isinstance(v, str) and bool(v.strip()) for v in values], dtype=bool)


def conditions_met(frame: pd.DataFrame, *, as_of: dt.date | None = None) -> dict[str, np.ndarray]:
    """Whether each readiness condition is met, per parcel: every fact of
    :data:`layers.vocabulary.FACTS` and every required indicator (as ``"{key}_set"``)."""
    missing = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    met = {
        key: fact_met(frame.get(f"{key}_st", missing), frame.get(f"{key}_dt", missing), as_of=as_of)
        for key in FACTS
    }
    return met | _indicators_set(frame, missing)


def _indicators_set(frame: pd.DataFrame, missing: pd.Series) -> dict[str, np.ndarray]:
    """Whether each required indicator is set (``"{key}_set"``), per parcel."""
    met = {}
    for key, sides in REQUIRED_INDICATORS.items():
        unset = np.logical_and.reduce(
            [frame.get(f"{key}_{side}", missing).isna().to_numpy() for side in sides]
        )
        met[f"{key}_set"] = ~unset
    standard = frame.get(EMISSION_STANDARD, missing).to_numpy(dtype=object)
    met[f"{EMISSION_STANDARD}_set"] = each_distinct(standard, _named)  # a zone has a few
    return met


ALWAYS = np.iinfo(np.int32).min
"""Day number of a condition that is met on any date (done or exempt)."""
NEVER = np.iinfo(np.int32).max
"""Day number of a condition with no date by which it will be met."""


def condition_days(frame: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The day (days since 1970-01-01) each readiness condition of each parcel is met.

    Returns the condition keys, those of :func:`conditions_met`, and an (n parcels × n
    conditions) int32 matrix (a day number fits, at half the memory of int64): ``ALWAYS``
    for done or exempt facts and set indicators, the expected date for planned facts,
    ``NEVER`` otherwise. A parcel is ready on day *d* when every entry is ≤ *d*, which lets
    a request judge readiness on any start date with one array comparison; a condition
    is met on any day (:func:`met_always`) where its entry is ``ALWAYS``.

    Examples
    --------
    >>> import pandas as pd, datetime as dt
    >>> keys, days = condition_days(pd.DataFrame(
    ...     [{"as_env_st": "planned", "as_env_dt": dt.date(1970, 1, 11)}]))
    >>> int(days[0, keys.index("as_env")]), bool(days[0, keys.index("as_geo")] == NEVER)
    (10, True)
    """
    missing = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    indicators = _indicators_set(frame, missing)
    keys = [*FACTS, *indicators]
    # Column-major: each condition's column is written in one contiguous pass.
    days = np.empty((len(frame), len(keys)), dtype=np.int32, order="F")
    for j, key in enumerate(FACTS):
        # A status column is told apart once (layers.distinct): done or exempt, planned.
        codes, distinct = by_object(frame.get(f"{key}_st", missing).to_numpy(dtype=object))
        days[:, j] = np.where(_done(distinct), ALWAYS, NEVER)[codes]
        if f"{key}_dt" in frame:
            # Only a planned fact's date counts: the others' (~90 %) are not parsed.
            rows = np.flatnonzero(_planned(distinct)[codes])
            when = each_distinct(frame[f"{key}_dt"].to_numpy(dtype=object)[rows], _days)
            dated = when != NEVER
            days[rows[dated], j] = when[dated]
    for j, done in enumerate(indicators.values(), start=len(FACTS)):
        days[:, j] = np.where(done, ALWAYS, NEVER)
    return keys, days


def met_always(keys: list[str], days: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`conditions_met` with no ``as_of``, from :func:`condition_days`."""
    return {key: days[:, j] == ALWAYS for j, key in enumerate(keys)}


def _days(values: np.ndarray) -> np.ndarray:
    """Day numbers of dates (objects: dates, datetimes or text, as ``pd.to_datetime``
    reads them), ``NEVER`` where missing or unreadable."""
    read = pd.to_datetime(pd.Series(values, dtype=object), errors="coerce")
    day = read.to_numpy("datetime64[D]")
    return np.where(np.isnat(day), NEVER, day.astype(np.int64)).astype(np.int32)


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01, the unit of :func:`condition_days`."""
    return (day - dt.date(1970, 1, 1)).days


def condition_name(key: str) -> str:
    """Chinese name of a readiness condition key, as used in gap lists."""
    return _condition_name(key)


def _condition_name(key: str) -> str:
    if key == f"{EMISSION_STANDARD}_set":
        return "环境标准未设定"
    if key.endswith("_set"):
        return f"{INDICATORS[key[:-4]][0]}未设定"
    return FACTS[key][0]


def readiness_table(
    frame: pd.DataFrame,
    *,
    as_of: dt.date | None = None,
    met: Mapping[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Readiness level and gap list (joined by "、") for every parcel row; ``met``, the
    frame's :func:`conditions_met` with the same ``as_of`` when the caller has it, spares
    working it out again.

    Examples
    --------
    >>> import pandas as pd
    >>> from layers.catalog import FACTS
    >>> row = {f"{k}_st": "done" for k in FACTS}
    >>> row.update(inv_lo=300.0, tax_lo=15.0, egy_hi=0.5, far_lo=1.0, env_std="GB 16297")
    >>> levels, gaps = readiness_table(pd.DataFrame([row, {**row, "as_geo_st": "missing"}]))
    >>> list(levels), list(gaps)
    (['ready', 'partly_ready'], ['', '地质灾害评估'])
    """
    met = conditions_met(frame, as_of=as_of) if met is None else met
    names = np.array([_condition_name(key) for key in met], dtype=object)
    # Each parcel's unmet conditions as the bits of one integer (condition j, bit j; there
    # are 22): parcels share far fewer patterns, and each pattern's names are joined once.
    bits = np.zeros(len(frame), dtype=np.int64)
    for j, done in enumerate(met.values()):
        bits |= (~np.asarray(done, dtype=bool)).astype(np.int64) << j
    which, patterns = pd.factorize(bits)
    unmet = (patterns[:, None] >> np.arange(len(names))) & 1 == 1  # per pattern
    row, column = np.nonzero(unmet)
    listed = names[column].tolist()
    ends = np.searchsorted(row, np.arange(1, len(patterns) + 1)).tolist()
    texts = np.array(["、".join(listed[a:b]) for a, b in pairwise([0, *ends])], dtype=object)
    blocked = ~np.logical_and.reduce([met[key] for key in BLOCKING_FACTS])
    level = np.where(blocked, 0, np.where(bits != 0, 1, 2))
    return _LEVELS[level], texts[which]


_LEVELS = np.array(
    [ReadinessLevel.NOT_READY.value, ReadinessLevel.PARTLY_READY.value, ReadinessLevel.READY.value],
    dtype=object,
)
"""The levels' values, indexed by 0 (not ready), 1 (partly ready), 2 (ready)."""


def readiness_of(parcel: dict[str, object], *, as_of: dt.date | None = None) -> Readiness:
    """Readiness of one parcel given as a mapping of field → value."""
    levels, gaps = readiness_table(pd.DataFrame([parcel]), as_of=as_of)
    return Readiness(ReadinessLevel(levels[0]), tuple(g for g in gaps[0].split("、") if g))


def readiness_expression(table: Any) -> Any:
    """The readiness level (today) as a SQL expression over a parcels table, for queries
    that must classify parcels in the database (PostGIS vector tiles). Built from the same
    constants as :func:`readiness_table`; a test checks the two agree on every parcel."""
    import sqlalchemy as sa

    met = [table.c[f"{key}_st"].in_(("done", "exempt")) for key in FACTS]
    for key, sides in REQUIRED_INDICATORS.items():
        met.append(sa.or_(*(table.c[f"{key}_{side}"].isnot(None) for side in sides)))
    standard = table.c[EMISSION_STANDARD]
    met.append(sa.and_(standard.isnot(None), sa.func.trim(standard) != ""))
    blocked = sa.not_(
        sa.and_(*(table.c[f"{key}_st"].in_(("done", "exempt")) for key in BLOCKING_FACTS))
    )
    return sa.case(
        (blocked, ReadinessLevel.NOT_READY.value),
        (sa.and_(*met), ReadinessLevel.READY.value),
        else_=ReadinessLevel.PARTLY_READY.value,
    )
