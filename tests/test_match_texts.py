"""Texts that never contradict their numbers: every printed comparison, read back, is
true (docs/matching.md, "Texts and margins").

Each constraint family's reason is built from random values near its requirement (equal,
1e-9 apart, one float apart, tiny and huge) and parsed back: the two printed numbers
compare as the sign says, the printed gap is their difference and is not zero, and the
remedy asks for that same gap. A missing value is said in words, never "nan"."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from layers.catalog import UTILITIES
from layers.units import DECIMALS, amount, compared, decimals
from layers.vocabulary import INDICATORS
from matching.constraints import Text, _budget_texts, _distance_texts
from matching.factories import Lease, _floor_texts, _rent_texts, _shortfall
from matching.land import _area_texts, _indicator_texts, _network_texts, _power_texts

NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
COMPARISON = re.compile(
    rf"(?P<a>{NUMBER})(?: \S+)? (?P<op>[<>]) (?:需 |上限 |下限 )?(?P<b>{NUMBER})"
)
WORDS = ("nan", "inf", "None")

magnitudes = st.one_of(
    st.sampled_from([0.0, 1.0, 5.0, 3.4, 150.0, 4_000.0, 25.0, 107.9, 1e-6, 1e9, 1e12]),
    st.floats(min_value=1e-6, max_value=1e-2),
    st.floats(min_value=0.0, max_value=1e5),
    st.floats(min_value=1e5, max_value=1e13),
)
offsets = st.one_of(
    st.sampled_from([0.0, 1e-9, -1e-9, 1e-12, -1e-12, 0.004, -0.004, 0.0245, -0.05, 1.0]),
    st.floats(min_value=-1.0, max_value=1.0),
    st.floats(min_value=-1e4, max_value=1e4),
)


@st.composite
def near_pair(draw: st.DrawFn) -> tuple[float, float]:
    """A requirement and a value near it (sometimes one float apart)."""
    need = draw(magnitudes)
    if draw(st.booleans()):
        have = need + draw(offsets)
    else:
        have = math.nextafter(need, draw(st.sampled_from([-math.inf, math.inf])))
    assume(math.isfinite(have))
    return have, need


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _places(text: str) -> int:
    return len(text.partition(".")[2])


def reads_true(why: str, remedy: str, *, have: float, need: float) -> None:
    """The reason's comparison holds for the printed numbers; its gap (its last number)
    and the remedy's first number are their difference, not zero."""
    for text in (why, remedy):
        assert not any(word in text for word in WORDS), text
    found = COMPARISON.search(why)
    assert found, why
    a, b = _decimal(found["a"]), _decimal(found["b"])
    assert (a < b) if found["op"] == "<" else (a > b), why
    assert (have < need) == (found["op"] == "<"), why
    gap = re.findall(NUMBER, why)[-1]
    assert _decimal(gap) == abs(b - a) != 0, why
    exact = abs(Decimal(need) - Decimal(have))
    assert abs(_decimal(gap) - exact) <= exact / 20, why  # "short 1 m" for 0.9 m is not true
    assert _places(gap) <= max(_places(found["a"]), _places(found["b"])), why
    assert _decimal(re.findall(NUMBER, remedy)[0]) == _decimal(gap), remedy


def _one(texts: tuple[Text, Text]) -> tuple[str, str]:
    why, remedy = texts
    return why(0), remedy(0)


def _said_in_words(texts: tuple[Text, Text], *words: str) -> None:
    why, remedy = _one(texts)
    assert not any(w in why + remedy for w in WORDS), why + remedy
    assert not COMPARISON.search(why), why
    assert any(w in why for w in words), why


# -- the rule itself ----------------------------------------------------------------------
@given(pair=near_pair(), unit=st.sampled_from(sorted(DECIMALS)))
def test_compared_prints_numbers_that_compare_as_the_exact_ones(
    pair: tuple[float, float], unit: str
) -> None:
    have, need = pair
    a, b, gap = (_decimal(t) for t in compared(have, need, unit))
    assert (a < b) == (have < need) and (a > b) == (have > need) and (a == b) == (have == need)
    assert gap == abs(b - a)
    assert (gap == 0) == (have == need)
    assert min(_places(t) for t in compared(have, need, unit)) >= decimals(unit)


@given(value=st.one_of(st.floats(allow_nan=False, allow_infinity=False), magnitudes))
def test_an_amount_is_never_printed_as_zero_unless_it_is(value: float) -> None:
    text = amount(value, "MVA")
    assert (_decimal(text) == 0) == (value == 0)


def test_a_missing_or_infinite_value_has_no_number_to_compare() -> None:
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="in words"):
            compared(bad, 1.0, "亩")


def test_the_cases_the_check_found() -> None:
    assert compared(149.99, 150.0, "亩") == ("149.99", "150.00", "0.01")
    assert compared(5.0 + 1e-4, 5.0, "km") == ("5.0001", "5.00", "0.0001")
    assert compared(3.4245, 3.4, "km") == ("3.425", "3.40", "0.025")
    assert compared(3999.6, 4000.0, "m²") == ("3,999.6", "4,000", "0.4")
    assert compared(107.9 - 0.04, 107.9, "MVA") == ("107.86", "107.9", "0.04")


# -- every constraint family --------------------------------------------------------------
def _arr(value: float) -> np.ndarray:
    return np.array([value])


def _divided(part: float) -> Lease:
    """A divisible building twice ``part``, whose fewest lettable units make ``part``."""
    return Lease(_arr(2 * part), _arr(part), _arr(part), np.array([True]), np.array([False]))


def _whole(have: float) -> Lease:
    """A building that is not divisible, of floor area ``have``."""
    nan = np.array([np.nan])
    return Lease(_arr(have), nan, nan, np.array([False]), np.array([False]))


Family = Callable[[float, float], tuple[Text, Text]]
SHORT_OF: dict[str, Family] = {
    "budget (site)": lambda have, need: _budget_texts(
        _arr(have), np.array([True]), "能耗指标", "吨标准煤", "energy quota", need
    ),
    "budget (park)": lambda have, need: _budget_texts(
        _arr(have), np.array([False]), "SO₂排放总量", "t/年", "SO₂ allowance", need
    ),
    "power": lambda have, need: _power_texts(_arr(have), need, 5.0, 110.0),
    **{
        f"network {n.name}": (
            lambda have, need, n=n: _network_texts(_arr(have), need, n, 5.0)  # type: ignore[misc]
        )
        for n in UTILITIES
        if n.name != "power"
    },
    "area (short)": lambda have, need: _area_texts(_arr(have), need, None),
    "floor (short)": lambda have, need: _floor_texts(_whole(have), need, None),
    **{
        f"building {key}": (
            lambda have, need, zh=zh, unit=unit: _shortfall(_arr(have), need, zh, unit)  # type: ignore[misc]
        )
        for key, zh, unit in [
            ("height", "净高", "m"),
            ("load", "楼面荷载", "kN/m²"),
            ("crane", "行车", "t"),
            ("power", "供电容量", "kVA"),
        ]
    },
    **{
        f"standard land {key} (below)": (
            lambda have, need, key=key: _indicator_texts(  # type: ignore[misc]
                _arr(have), _arr(need), _arr(math.nan), key
            )
        )
        for key in ("inv", "tax", "out")
    },
}
"""Families where a site fails by having less than it needs."""
OVER: dict[str, Family] = {
    "distance": lambda have, limit: _distance_texts(
        _arr(have), limit, None, "高速出入口", "interchange"
    ),
    "area (over)": lambda have, limit: _area_texts(_arr(have), 0.0, limit),
    "floor (over)": lambda have, limit: _floor_texts(_whole(have), 0.0, limit),
    "floor (lettable units too coarse)": lambda have, limit: _floor_texts(
        _divided(have), 0.0, limit
    ),
    "rent": lambda have, limit: _rent_texts(_arr(have), _arr(math.nan), limit),
    "standard land egy (above)": lambda have, limit: _indicator_texts(
        _arr(have), _arr(math.nan), _arr(limit), "egy"
    ),
}
"""Families where a site fails by having more than its limit."""


@pytest.mark.parametrize("family", sorted(SHORT_OF))
@given(pair=near_pair())
def test_a_shortfall_reads_true_when_parsed_back(family: str, pair: tuple[float, float]) -> None:
    have, need = pair
    assume(have < need)
    reads_true(*_one(SHORT_OF[family](have, need)), have=have, need=need)


@pytest.mark.parametrize("family", sorted(OVER))
@given(pair=near_pair())
def test_an_excess_reads_true_when_parsed_back(family: str, pair: tuple[float, float]) -> None:
    have, limit = pair
    assume(have > limit)
    reads_true(*_one(OVER[family](have, limit)), have=have, need=limit)


def test_a_missing_value_is_said_in_words() -> None:
    nan = _arr(math.nan)
    _said_in_words(_budget_texts(nan, np.array([False]), "能耗指标", "吨标准煤", "q", 10.0), "未知")
    _said_in_words(_power_texts(nan, 20.0, 5.0, 110.0), "无")
    for network in (n for n in UTILITIES if n.name != "power"):
        _said_in_words(_network_texts(nan, 20.0, network, 5.0), "无")
    _said_in_words(_distance_texts(_arr(math.inf), 5.0, None, "机场", "airport"), "无")
    _said_in_words(_shortfall(nan, 8.0, "净高", "m"), "未登记")
    _said_in_words(_rent_texts(nan, _arr(1200.0), 25.0), "租金未知/未标")
    _said_in_words(_indicator_texts(_arr(math.inf), _arr(300.0), nan, "inv"), "无法计算")
    why, _ = _one(_rent_texts(nan, _arr(1200.0), 25.0))
    assert why == "租金未知/未标 (no rent listed: for sale)"


def test_every_indicator_and_budget_unit_has_its_decimals() -> None:
    units = {unit for _, _, unit in INDICATORS.values()} | {"吨标准煤", "t/年"}
    units |= {n.unit for n in UTILITIES}
    assert units - {""} <= set(DECIMALS)
