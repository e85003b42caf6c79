"""Value functions: how a criterion's raw value becomes a score in [0, 1] (1 best).

A scale reads the site's own value, the request and the data version in force, never
the other candidates: removing a site, or tightening a constraint that another site
already meets, changes no other site's score, and scores of different requests can be
compared. Each scale states its rule and what a missing value scores; results show both
(docs/matching.md, "Scores").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.situation import Situation

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scale:
    """Raw value → score in [0, 1]."""

    rule: Callable[[Situation], str]
    """The rule as a result states it, with this match's numbers (zh, English)."""
    values: Callable[[Situation, FloatArray], FloatArray]
    """Scores of known raw values (NaN in, anything out: :meth:`__call__` replaces it)."""
    missing: Callable[[Situation], float]
    """The score of a missing value."""
    missing_text: Callable[[Situation], str]
    """What a result says where a site's value is missing."""

    def __call__(self, s: Situation, raw: FloatArray) -> FloatArray:
        with np.errstate(all="ignore"):
            scored = np.clip(self.values(s, raw), 0.0, 1.0)
        return np.asarray(np.where(np.isnan(raw), self.missing(s), scored), dtype=float)


def _worst(_s: Situation) -> float:
    return 0.0


def _says(text: str) -> Callable[[Situation], str]:
    return lambda _s: text


def km(metres: float) -> str:
    return f"{metres / 1000:g} km"


def falling(reference_m: float, none: str) -> Scale:
    """A distance: 1 at 0 m, falling linearly to 0 at ``reference_m`` and beyond."""
    return Scale(
        rule=_says(f"1 − 距离 / {km(reference_m)} (1 − distance / {km(reference_m)}), ≥ 0"),
        values=lambda _s, d: 1.0 - d / reference_m,
        missing=_worst,
        missing_text=_says(f"{none}, 计 0 分 (none: scores 0)"),
    )


def rising(reference: float, unit: str, none: str) -> Scale:
    """A benefit with a natural zero: the value over ``reference``, at most 1."""
    return Scale(
        rule=_says(f"数值 / {reference:g} {unit} (value / {reference:g} {unit}), ≤ 1"),
        values=lambda _s, v: v / reference,
        missing=_worst,
        missing_text=_says(f"{none}, 计 0 分 (unknown: scores 0)"),
    )


def share(none: str) -> Scale:
    """Already a share or a yes/no in [0, 1]."""
    return Scale(
        rule=_says("取值本身, 0–1 (the value itself)"),
        values=lambda _s, v: v,
        missing=_worst,
        missing_text=_says(f"{none}, 计 0 分 (unknown: scores 0)"),
    )


def listed_range(column: str, unit: str, none: str) -> Scale:
    """A listed price or rent: 1 at the lowest of the layer's listings in this data
    version, 0 at the highest (every site of the layer, whatever its status, so a
    reservation moves no other site's score)."""

    def span(s: Situation) -> tuple[float, float]:
        return s.sites.span(column)

    def values(s: Situation, v: FloatArray) -> FloatArray:
        lo, hi = span(s)
        if not hi > lo:  # one price for all (or none): nothing to tell apart
            return np.ones(len(v))
        return (hi - v) / (hi - lo)

    def rule(s: Situation) -> str:
        lo, hi = span(s)
        listed = f"{lo:,.6g}–{hi:,.6g} {unit}" if np.isfinite(lo) else "无 (none)"
        return (
            f"(最高 − 数值) / (最高 − 最低), 本数据版本挂牌 {listed} "
            f"((highest − value) / (highest − lowest) of this data version's listings)"
        )

    return Scale(rule, values, _worst, _says(f"{none}, 按最高计 0 分 (none listed: scores 0)"))


def fit(target: Callable[[Situation], float | None], unit: str) -> Scale:
    """Closeness to the size asked for: ``1 − |value − target| / target``, at least 0."""

    def values(s: Situation, v: FloatArray) -> FloatArray:
        t = target(s)
        return np.zeros(len(v)) if t is None else 1.0 - np.abs(v - t) / t

    def rule(s: Situation) -> str:
        t = target(s)
        return (
            f"1 − |数值 − {t:,.6g}| / {t:,.6g} {unit} (closeness to the size asked for), ≥ 0"
            if t is not None
            else "未提需求, 计 0 分 (not asked: scores 0)"
        )

    return Scale(rule, values, _worst, _says("面积未知, 计 0 分 (unknown: scores 0)"))


def larger(least: Callable[[Situation], float | None], unit: str) -> Scale:
    """Larger is better without end: ``1 − least / value`` (0 at the least asked for,
    ½ at twice it, ¾ at four times)."""

    def values(s: Situation, v: FloatArray) -> FloatArray:
        t = least(s)
        return np.zeros(len(v)) if t is None else 1.0 - t / v

    def rule(s: Situation) -> str:
        return f"1 − {least(s) or 0:,.6g} {unit} / 数值 (1 − least asked / value), ≥ 0"

    return Scale(rule, values, _worst, _says("面积未知, 计 0 分 (unknown: scores 0)"))


def waiting(reference_days: float) -> Scale:
    """Days until a building is free: 1 when free by the start, falling to 0 at
    ``reference_days``. No date means "ask the owner" and scores 0, unless the request
    takes undated buildings as free now (``factory.undated: now``), which scores 1."""

    def now(s: Situation) -> bool:
        needs = s.request.factory
        return needs is not None and needs.undated == "now"

    def missing_text(s: Situation) -> str:
        if now(s):
            return "未填可用日期, 按项目设定视为即可使用, 计 1 分 (no date: taken as free now)"
        return "未填可用日期, 需向业主询问, 计 0 分 (no date: ask the owner; scores 0)"

    return Scale(
        rule=_says(
            f"1 − 等待天数 / {reference_days:g} (1 − days to wait / {reference_days:g}), ≥ 0"
        ),
        values=lambda _s, days: 1.0 - days / reference_days,
        missing=lambda s: 1.0 if now(s) else 0.0,
        missing_text=missing_text,
    )


def per_request(choose: Callable[[Situation], Scale]) -> Scale:
    """The scale the request picks (e.g. a fit, or larger-is-better)."""
    return Scale(
        rule=lambda s: choose(s).rule(s),
        values=lambda s, v: choose(s).values(s, v),
        missing=lambda s: choose(s).missing(s),
        missing_text=lambda s: choose(s).missing_text(s),
    )
