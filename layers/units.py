"""How precisely each unit is shown: one table for the dossier, the workbook and the pages.

A quantity computed in floating point (107.89999999999999 MVA) is shown, and written to a
workbook, rounded to its unit's precision: the decimals below. A unit not listed keeps
two decimals; a dimensionless value (unit ``""``: a share, a score) keeps three.
"""

from __future__ import annotations

import math

DECIMALS: dict[str, int] = {
    # area
    "亩": 2,
    "m²": 0,
    # distance
    "km": 2,
    "m": 0,
    # power and energy
    "MVA": 1,
    "kVA": 0,
    "MW": 1,
    "kV": 0,
    "tce": 1,
    "tce/年": 1,
    "吨标准煤": 1,
    "吨标准煤/年": 1,
    "吨标准煤/万元": 3,
    "tce/万元": 3,
    # utilities
    "m³/日": 0,
    "m³/d": 0,
    "Nm³/时": 0,
    "Nm³/h": 0,
    # emissions
    "t": 2,
    "t/年": 2,
    # money
    "元": 0,
    "万元": 1,
    "亿元": 2,
    "亿元/年": 2,
    "万元/亩": 1,
    "元/m²/月": 1,
    # buildings and time
    "kN/m²": 1,
    "天": 0,
    "%": 1,
    "": 3,
}
"""Decimals shown per unit."""
DEFAULT_DECIMALS = 2


def decimals(unit: str) -> int:
    """The decimals a value in ``unit`` is shown with.

    Examples
    --------
    >>> decimals("MVA"), decimals("m²"), decimals("furlong")
    (1, 0, 2)
    """
    return DECIMALS.get(unit, DEFAULT_DECIMALS)


def rounded(value: float | None, unit: str) -> float | int | None:
    """``value`` rounded to its unit's precision (an int where it has no decimals); None
    and NaN stay None, infinities are kept.

    Examples
    --------
    >>> rounded(107.89999999999999, "MVA")
    107.9
    >>> rounded(1225.94, "m"), rounded(float("nan"), "m")
    (1226, None)
    """
    if value is None or math.isnan(value):
        return None
    if math.isinf(value):
        return value
    places = decimals(unit)
    return round(value) if places == 0 else round(value, places)


def shown(value: float | None, unit: str, *, with_unit: bool = True) -> str:
    """``value`` as text at its unit's precision, thousands separated; "—" when unknown.

    Examples
    --------
    >>> shown(107.89999999999999, "MVA")
    '107.9 MVA'
    >>> shown(24600.0, "kVA"), shown(None, "m"), shown(2409.542, "亩", with_unit=False)
    ('24,600 kVA', '—', '2,409.54')
    """
    value = rounded(value, unit)
    if value is None:
        return "—"
    text = f"{value:,.{decimals(unit)}f}"
    return f"{text} {unit}" if with_unit and unit else text
