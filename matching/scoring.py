"""Soft scores: weighted sum and TOPSIS, stability.

Every criterion's value is first put on its fixed scale in [0, 1], 1 best
(:mod:`matching.scales`; the criteria and their default weights are in
:mod:`matching.criteria`, weights in :mod:`matching.weights`, normalised to sum to 1).
Scores combine those scaled values ``n_ij``:

- Weighted sum: ``Σ w_j · n_ij``; the contribution of criterion *j* is ``w_j · n_ij``.
- TOPSIS on the same scales: with weighted values ``v_ij = w_j n_ij`` the ideal is the
  scales' top (``w``) and the anti-ideal their bottom (0), so the score is
  ``d⁻ / (d⁺ + d⁻)`` with ``d⁺ = ‖w − v_i‖`` and ``d⁻ = ‖v_i‖``. pymcdm's TOPSIS with
  min–max normalisation gives the same numbers on the scaled matrix with an ideal row
  (all 1) and an anti-ideal row (all 0) added, so that each column's range is the
  scale's; a test holds us to it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Method = Literal["weighted_sum", "topsis"]
"""How feasible sites are scored (a request's ``method``)."""
STABILITY_STEP = 0.2
"""Each weight is moved by ±20 % (then all are renormalised) for the stability figure."""


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
    mine = scores[rows]
    if not len(mine):
        return np.zeros(0, dtype=np.int64)
    above = scores[scores > mine.min()]  # one pass; the few above are then compared
    ahead = np.count_nonzero(above[None, :] > mine[:, None], axis=1)
    tied = [
        np.count_nonzero(scores[:r] == s) for r, s in zip(rows.tolist(), mine.tolist(), strict=True)
    ]
    return np.asarray(1 + ahead + np.array(tied, dtype=np.int64), dtype=np.int64)


def stability(
    normalised: FloatArray, weights: FloatArray, method: Method, rows: IntArray
) -> tuple[IntArray, IntArray]:
    """Best and worst rank of ``rows`` when each weight in turn moves ±20 %.

    The scores under all the moved weights come from matrix products, one per sum
    (:func:`_scores`): an order of magnitude faster than :func:`score` once per moved
    weight, and equal to its scores but for rounding in the last digit."""
    low = ranks_of(score(normalised, weights, method), rows)
    high = low.copy()
    factors = np.tile([1 - STABILITY_STEP, 1 + STABILITY_STEP], len(weights))
    moved = np.repeat(weights[None, :], len(factors), axis=0)
    moved[np.arange(len(factors)), np.repeat(np.arange(len(weights)), 2)] *= factors
    moved /= moved.sum(axis=1, keepdims=True)
    for scores in _scores(normalised, moved, method):
        ranks = ranks_of(scores, rows)
        low, high = np.minimum(low, ranks), np.maximum(high, ranks)
    return low, high


def _scores(normalised: FloatArray, weights: FloatArray, method: Method) -> FloatArray:
    """:func:`score` under each row of ``weights`` (weightings × criteria), a row of
    scores per weighting, as matrix products: TOPSIS's distances are ``√(w² · (1 − n)²)``
    and ``√(w² · n²)``."""
    if method == "weighted_sum":
        return np.asarray(weights @ normalised.T)
    squared = np.square(weights)
    to_ideal = np.sqrt(squared @ np.square(1 - normalised).T)
    to_anti = np.sqrt(squared @ np.square(normalised).T)
    with np.errstate(invalid="ignore"):
        closeness = to_anti / (to_ideal + to_anti)
    return np.asarray(np.nan_to_num(closeness, nan=0.0))
