"""Graded-relevance ranking metrics: DCG@k and NDCG@k (Järvelin & Kekäläinen, 2002; Burges et al., 2005).

Conventions used everywhere in the course (and by ``rlir.envs.ranking``):

* positions are numbered from 1; the document at position ``i`` is discounted by ``1 / log2(i + 1)``
  (so position 1 has discount 1, position 2 has ``1/log2(3)``, ...);
* the default gain of a document with relevance grade ``rel`` is ``2**rel - 1`` ("exponential", Burges'
  form); ``gain="linear"`` uses ``rel`` itself (Järvelin's original form);
* ``NDCG@k = DCG@k / IDCG@k`` where ``IDCG@k`` is the DCG@k of the candidates sorted by decreasing
  relevance. **A query without any relevant document (IDCG@k = 0) has NDCG@k = 0 by convention**
  (as in scikit-learn's ``ndcg_score``): no ranking can be good or bad for it, and counting it as 0 keeps
  the metric from rewarding an empty result;
* when ranking by scores, documents are sorted by descending score and **ties are broken by the smaller
  document index first** (a stable sort), so results never depend on the platform's sort algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

GAINS = ("exponential", "linear")


def discounts(k: int) -> np.ndarray:
    """Return the position discounts ``1 / log2(i + 1)`` for positions ``i = 1..k`` (float64, shape (k,))."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def gains(relevances: np.ndarray | Sequence[float], gain: str = "exponential") -> np.ndarray:
    """Map relevance grades to gains: ``2**rel - 1`` ("exponential") or ``rel`` ("linear")."""
    rel = np.asarray(relevances, dtype=np.float64)
    if np.any(~np.isfinite(rel)) or np.any(rel < 0):
        raise ValueError(f"relevance grades must be finite and >= 0, got {rel!r}")
    if gain == "exponential":
        return np.exp2(rel) - 1.0
    if gain == "linear":
        return rel
    raise ValueError(f"gain must be one of {GAINS}, got {gain!r}")


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def dcg_at_k(
    relevances_in_ranked_order: np.ndarray | Sequence[float], k: int, gain: str = "exponential"
) -> float:
    """Discounted cumulative gain of the first ``k`` documents of a ranking.

    ``relevances_in_ranked_order[i]`` is the grade of the document at position ``i + 1``. Rankings shorter
    than ``k`` contribute only their documents (missing positions count as gain 0).
    """
    k = _check_k(k)
    g = gains(relevances_in_ranked_order, gain)
    if g.ndim != 1:
        raise ValueError(f"relevances must be a 1-D sequence, got shape {g.shape}")
    g = g[:k]
    return float(np.dot(g, discounts(g.size)))


def ndcg_at_k(
    relevances_in_ranked_order: np.ndarray | Sequence[float],
    k: int,
    ideal_relevances: np.ndarray | Sequence[float] | None = None,
    gain: str = "exponential",
) -> float:
    """Normalised DCG@k in [0, 1]: DCG@k of the ranking divided by the best achievable DCG@k.

    The ideal DCG is computed from ``ideal_relevances`` (all candidate grades of the query, in any order)
    when given, otherwise from the ranked list itself (which must then contain every candidate). Pass
    ``ideal_relevances`` when the ranking is truncated (e.g. only K of N documents were placed). Returns 0
    when the ideal DCG is 0 (no relevant candidate; see the module docstring).
    """
    ideal = relevances_in_ranked_order if ideal_relevances is None else ideal_relevances
    ideal_sorted = np.sort(np.asarray(ideal, dtype=np.float64))[::-1]
    idcg = dcg_at_k(ideal_sorted, k, gain)
    dcg = dcg_at_k(relevances_in_ranked_order, k, gain)
    if idcg == 0.0:
        return 0.0
    return dcg / idcg


def rank_by_scores(scores: np.ndarray) -> np.ndarray:
    """Return document indices sorted by descending score along the last axis, ties -> smaller index first."""
    s = np.asarray(scores, dtype=np.float64)
    if np.any(np.isnan(s)):
        raise ValueError("scores contain NaN; cannot rank")
    return np.argsort(-s, axis=-1, kind="stable")


def ideal_dcg(labels: np.ndarray, k: int, gain: str = "exponential") -> np.ndarray:
    """Ideal DCG@k of each query of a ``(..., N)`` label array (shape ``labels.shape[:-1]``)."""
    k = _check_k(k)
    g = np.sort(gains(labels, gain), axis=-1)[..., ::-1][..., :k]
    return g @ discounts(g.shape[-1])


def ndcg_of_scores(scores: np.ndarray, labels: np.ndarray, k: int, gain: str = "exponential") -> np.ndarray:
    """NDCG@k of the rankings induced by ``scores`` (batch helper).

    ``scores`` and ``labels`` have shape ``(Q, N)`` (or ``(N,)`` for a single query). Each query's documents
    are ranked by descending score, ties broken by the smaller index (see ``rank_by_scores``). Returns an
    array of shape ``(Q,)`` with one NDCG@k per query (0-d array for 1-D input); average it for the mean.
    """
    k = _check_k(k)
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if scores.shape != labels.shape or scores.ndim not in (1, 2):
        raise ValueError(f"scores and labels must have the same shape (N,) or (Q, N); got {scores.shape}, "
                         f"{labels.shape}")
    order = rank_by_scores(scores)[..., :k]
    g = np.take_along_axis(gains(labels, gain), order, axis=-1)
    dcg = g @ discounts(g.shape[-1])
    idcg = ideal_dcg(labels, k, gain)
    safe = np.where(idcg > 0, idcg, 1.0)
    return np.where(idcg > 0, dcg / safe, 0.0)


def expected_random_ndcg(labels: np.ndarray, k: int, gain: str = "exponential") -> np.ndarray:
    """Exact expected NDCG@k of a uniformly random ranking, per query (shape ``labels.shape[:-1]``).

    Under a uniform random permutation every position holds each document with probability 1/N, so
    E[DCG@k] = mean gain x sum of the first min(k, N) discounts; dividing by the (fixed) IDCG@k gives the
    expectation of NDCG@k (0 for queries without relevant documents).
    """
    k = _check_k(k)
    labels = np.asarray(labels)
    g = gains(labels, gain)
    expected_dcg = g.mean(axis=-1) * discounts(min(k, labels.shape[-1])).sum()
    idcg = ideal_dcg(labels, k, gain)
    safe = np.where(idcg > 0, idcg, 1.0)
    return np.where(idcg > 0, expected_dcg / safe, 0.0)
