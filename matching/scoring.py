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
