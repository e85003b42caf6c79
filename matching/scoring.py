"""Soft scores: normalised criteria, weighted sum and TOPSIS, contributions, stability.

Every criterion is min–max normalised over the candidate sites to [0, 1], where 1 is
best (benefit criteria: larger is better; cost criteria: smaller is better). A missing
value scores 0. Weights are normalised to sum to 1. The criteria themselves, and their
default weights, are in :mod:`matching.criteria`.

- Weighted sum: ``Σ w_j · n_ij``; the contribution of criterion *j* is ``w_j · n_ij``.
- TOPSIS on the same min–max normalised matrix: with weighted values ``v_ij = w_j n_ij``
  the ideal is ``w`` and the anti-ideal 0, so the score is
  ``d⁻ / (d⁺ + d⁻)`` with ``d⁺ = ‖w − v_i‖`` and ``d⁻ = ‖v_i‖`` (pymcdm's TOPSIS with
  min–max normalisation gives the same numbers; a test holds us to it).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Method = Literal["weighted_sum", "topsis"]
"""How feasible sites are scored (a request's ``method``)."""
STABILITY_STEP = 0.2
"""Each weight is moved by ±20 % (then all are renormalised) for the stability figure."""


def normalise(
    matrix: FloatArray, benefit: npt.NDArray[np.bool_], reference: FloatArray | None = None
) -> FloatArray:
    """Min–max normalise columns to [0, 1] (1 best) using ``reference`` rows' ranges.

    Values outside the reference range are clipped; NaN scores 0. A column with no spread
    scores 1 everywhere: it cannot tell the sites apart.

    Examples
    --------
    >>> normalise(np.array([[4., 4.], [1., 5.], [3., 2.]]), np.array([True, False]))
    array([[1.        , 0.33333333],
           [0.        , 0.        ],
           [0.66666667, 1.        ]])
    """
    ref = matrix if reference is None else reference
    # A criterion with no value at any reference site (all NaN) is expected: it scores 0.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(ref, axis=0) if len(ref) else np.zeros(matrix.shape[1])
        hi = np.nanmax(ref, axis=0) if len(ref) else np.ones(matrix.shape[1])
        span = hi - lo
        scaled = np.where(benefit, matrix - lo, hi - matrix) / np.where(span > 0, span, 1.0)
    scaled = np.where(np.isfinite(span) & (span > 0), scaled, 1.0)
    # A missing value scores 0, also where a column has no spread or no data at all.
    scaled = np.where(np.isnan(matrix), 0.0, scaled)
    return np.asarray(np.clip(scaled, 0.0, 1.0))


def score(normalised: FloatArray, weights: FloatArray, method: Method) -> FloatArray:
    """Scores in [0, 1] from a normalised matrix (rows: sites; columns: criteria)."""
    weighted = normalised * weights
    if method == "weighted_sum":
        return np.asarray(weighted.sum(axis=1))
    to_ideal = np.sqrt(((weights - weighted) ** 2).sum(axis=1))
    to_anti = np.sqrt((weighted**2).sum(axis=1))
    with np.errstate(invalid="ignore"):
        closeness = to_anti / (to_ideal + to_anti)
    return np.asarray(np.nan_to_num(closeness, nan=0.0))


def top(scores: FloatArray, k: int) -> IntArray:
    """Indices of the ``k`` best scores, best first; ties keep input order.

    Examples
    --------
    >>> top(np.array([0.5, 0.9, 0.9, 0.1]), 2).tolist()
    [1, 2]
    """
    k = min(k, len(scores))
    if k == 0:
        return np.array([], dtype=np.int64)
    if k < len(scores):
        # Keep every row tied with the k-th score, so the stable order below decides ties.
        cut = np.partition(-scores, k - 1)[k - 1]
        candidates = np.flatnonzero(-scores <= cut)
    else:
        candidates = np.arange(len(scores))
    order = np.lexsort((candidates, -scores[candidates]))
    return np.asarray(candidates[order][:k], dtype=np.int64)


def ranks_of(scores: FloatArray, rows: IntArray) -> IntArray:
    """Rank (1 = best) of ``rows`` among all ``scores``, ties broken by row order as in
    :func:`top`, so a site's rank and its stability range use one rule."""
    mine = scores[rows][:, None]
    index = np.arange(len(scores))[None, :]
    ahead = (scores[None, :] > mine) | ((scores[None, :] == mine) & (index < rows[:, None]))
    return np.asarray(1 + ahead.sum(axis=1), dtype=np.int64)


def stability(
    normalised: FloatArray, weights: FloatArray, method: Method, rows: IntArray
) -> tuple[IntArray, IntArray]:
    """Best and worst rank of ``rows`` when each weight in turn moves ±20 %."""
    low = ranks_of(score(normalised, weights, method), rows)
    high = low.copy()
    for j in range(len(weights)):
        for factor in (1 - STABILITY_STEP, 1 + STABILITY_STEP):
            moved = weights.copy()
            moved[j] *= factor
            ranks = ranks_of(score(normalised, moved / moved.sum(), method), rows)
            low, high = np.minimum(low, ranks), np.maximum(high, ranks)
    return low, high
