"""Standard-land control indicators (标准地控制指标) as bounds.

A parcel stores each indicator as ``{key}_lo`` / ``{key}_hi`` / ``{key}_due``; this module
turns them into :class:`Bound` values with an explicit operator and a margin check, so
nothing else interprets the columns.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from layers.vocabulary import INDICATORS

Operator = Literal["≥", "≤", "range"]


@dataclass(frozen=True)
class Bound:
    """One control indicator: ``lo ≤ value ≤ hi`` with either side optional.

    Examples
    --------
    >>> b = Bound("inv", lo=300.0)
    >>> b.op, str(b), b.margin(280.0)
    ('≥', '固定资产投资强度 ≥ 300 万元/亩', -20.0)
    >>> Bound("far", lo=1.0, hi=2.5).op, str(Bound("far", lo=1.0, hi=2.5))
    ('range', '容积率 1–2.5')
    """

    key: str
    lo: float | None = None
    hi: float | None = None
    due: dt.date | None = None

    def __post_init__(self) -> None:
        if self.key not in INDICATORS:
            raise ValueError(f"unknown indicator {self.key!r}; known: {', '.join(INDICATORS)}")
        if self.lo is None and self.hi is None:
            raise ValueError(f"indicator {self.key!r} needs a lower or an upper bound")
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            raise ValueError(f"indicator {self.key!r}: lower bound {self.lo} > upper {self.hi}")

    @property
    def zh(self) -> str:
        return INDICATORS[self.key][0]

    @property
    def en(self) -> str:
        return INDICATORS[self.key][1]

    @property
    def unit(self) -> str:
        return INDICATORS[self.key][2]

    @property
    def op(self) -> Operator:
        if self.lo is not None and self.hi is not None:
            return "range"
        return "≥" if self.lo is not None else "≤"

    def margin(self, value: float) -> float:
        """How far ``value`` is inside the bound (≥ 0) or outside it (< 0), in the unit."""
        below = value - self.lo if self.lo is not None else math.inf
        above = self.hi - value if self.hi is not None else math.inf
        return min(below, above)

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.op == "range":
            return f"{self.zh} {self.lo:g}–{self.hi:g}{unit}"
        value = self.lo if self.op == "≥" else self.hi
        return f"{self.zh} {self.op} {value:g}{unit}"


def bounds_of(parcel: Mapping[str, object]) -> list[Bound]:
    """The indicators a parcel sets, in catalogue order.

    Examples
    --------
    >>> [str(b) for b in bounds_of({"inv_lo": 300.0, "egy_hi": 0.5, "tax_lo": None})]
    ['固定资产投资强度 ≥ 300 万元/亩', '单位能耗 ≤ 0.5 吨标准煤/万元']
    """
    out = []
    for key in INDICATORS:
        lo, hi = _number(parcel.get(f"{key}_lo")), _number(parcel.get(f"{key}_hi"))
        if lo is None and hi is None:
            continue
        due = parcel.get(f"{key}_due")
        out.append(Bound(key, lo, hi, due if isinstance(due, dt.date) else None))
    return out


def _number(value: object) -> float | None:
    if value is None or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)
