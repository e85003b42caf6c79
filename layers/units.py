"""How precisely each unit is shown: one table for the dossier, the workbook and the pages.

A quantity computed in floating point (107.89999999999999 MVA) is shown, and written to a
workbook, rounded to its unit's precision: the decimals below. A unit not listed keeps
two decimals; a dimensionless value (unit ``""``: a share, a score) keeps three.

A comparison of two quantities (:func:`compared`) and a gap that is not zero
(:func:`amount`) take more decimals where the unit's own would print a falsehood
("150 亩 < 150 亩", "short 0.0 亩"): just enough for the printed numbers to say what the
exact ones do.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import NamedTuple

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


class Compared(NamedTuple):
    """Two quantities and the gap between them, as printed (no unit, thousands separated)."""

    have: str
    need: str
    gap: str
    """``|need − have|``: exactly the difference of the two printed numbers, and the exact
    gap rounded to the same decimals."""


def _quantized(value: Decimal, places: int) -> Decimal:
    out = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return out.copy_abs() if out == 0 else out  # never "-0.00"


def _text(value: Decimal, places: int, unit: str) -> str:
    """``value`` at ``places`` decimals; zeros beyond the unit's own decimals dropped."""
    text = f"{value:,.{places}f}"
    base = decimals(unit)
    if places > base:
        text = text.rstrip("0")
        if base == 0:
            text = text.rstrip(".")
        else:
            whole, _, frac = text.partition(".")
            text = f"{whole}.{frac.ljust(base, '0')}"
    return text


def compared(have: float, need: float, unit: str) -> Compared:
    """``have`` and ``need`` printed so that the printed comparison reads true.

    Both are rounded (half to even) to the fewest decimals, at least the unit's own
    (:data:`DECIMALS`), at which the two printed numbers differ when the exact ones do and
    the printed gap is both the exact gap rounded and the difference of the printed
    numbers, within 5 % of the exact gap (a clear height of 6.1 m against 7 m is short
    0.9 m, not "6 m < 7 m, short 1 m"). Decimals beyond the unit's own are printed only
    where they are not zero.
    A missing or infinite value has no number to print: say it in words instead.

    Examples
    --------
    >>> compared(149.99, 150.0, "亩")
    Compared(have='149.99', need='150.00', gap='0.01')
    >>> compared(3999.6, 4000.0, "m²")
    Compared(have='3,999.6', need='4,000', gap='0.4')
    >>> compared(3.4245, 3.4, "km")
    Compared(have='3.425', need='3.40', gap='0.025')
    >>> compared(150 - 1e-9, 150.0, "亩")
    Compared(have='149.999999999', need='150.00', gap='0.000000001')
    >>> compared(120.0, 150.0, "亩")
    Compared(have='120.00', need='150.00', gap='30.00')
    >>> compared(6.1, 7.0, "m")
    Compared(have='6.1', need='7', gap='0.9')
    """
    if not (math.isfinite(have) and math.isfinite(need)):
        raise ValueError(
            f"compared() prints two finite quantities, not {have!r} and {need!r} {unit}: "
            "say a missing value in words"
        )
    a, b = Decimal(have), Decimal(need)  # exact: every float is a finite decimal
    with localcontext() as context:
        context.prec = 2_000  # exact for the difference of any two floats
        exact = abs(b - a)
        places = decimals(unit)
        while True:
            qa, qb = _quantized(a, places), _quantized(b, places)
            gap = abs(qb - qa)
            close = abs(gap - exact) <= exact / 20
            if (qa != qb or a == b) and gap == _quantized(exact, places) and close:
                break
            places += 1  # ends: at the floats' own last decimal, rounding is exact
        return Compared(_text(qa, places, unit), _text(qb, places, unit), _text(gap, places, unit))


def amount(value: float, unit: str, *, with_unit: bool = False) -> str:
    """A quantity (a gap, a margin) as text, never printed as zero unless it is zero: the
    unit's decimals, more where those would round it away. NaN is "—".

    Examples
    --------
    >>> amount(0.04, "MVA"), amount(1410.0, "吨标准煤"), amount(-0.0004, "亩")
    ('0.04', '1,410.0', '-0.0004')
    >>> amount(0.0004, "km", with_unit=True)
    '0.0004 km'
    """
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        text = "∞" if value > 0 else "-∞"
    else:
        exact, places = Decimal(value), decimals(unit)
        with localcontext() as context:
            context.prec = 2_000
            while _quantized(exact, places) == 0 and exact != 0:
                places += 1
            text = _text(_quantized(exact, places), places, unit)
    return f"{text} {unit}" if with_unit and unit else text
