"""The position-based click model on the course's ranking data, with known examination propensities.

A user looks at a result list of all N candidates of a query. Position ``k`` (1-based) is **examined** with
probability ``examination[k - 1] = 1 / k`` (the position bias of Joachims, Swaminathan and Schnabel, WSDM 2017,
with eta = 1: stronger than the DCG discount 1 / log2(k + 1) of ``rlir/Ranking-v0``'s click mode, so that a
ranker learned from raw click-through rates is clearly worse than one learned from debiased clicks) and an
examined document is **clicked** with its attractiveness ``(2^rel - 1) / (2^MAX_GRADE - 1)``, independently of
everything else. So

    P(click on d at position k) = examination[k - 1] * attractiveness(d),

and a click at position k divided by ``examination[k - 1]`` is an unbiased estimate of the document's
attractiveness, while the raw click-through rate mixes relevance with where the document was shown.

The click log is written by a deployed ("production") ranker that sorts each query's documents by one
feature (the best single feature on the training queries, ``best_single_feature``): a decent but biased
ranker, so that clicks concentrate on what it already ranks high. ``simulate_clicks`` writes the log:
"query" (S,) query index of each session, "ranking" (S, N) the documents shown, best first, and "clicks"
(S, N) the clicks by position (0/1).
"""

from __future__ import annotations

import numpy as np

from rlir.envs.ranking import MAX_GRADE, RankingDataset, best_single_feature, make_splits
from rlir.ir_metrics import rank_by_scores

CLICK_LOG_KEYS = ("query", "ranking", "clicks")


def examination_probabilities(n_positions: int) -> np.ndarray:
    """P(position k is examined) = 1 / k for k = 1..n_positions (shape (n_positions,))."""
    if n_positions < 0:
        raise ValueError(f"n_positions must be >= 0, got {n_positions}")
    return 1.0 / np.arange(1, n_positions + 1, dtype=np.float64)


def attractiveness(labels: np.ndarray) -> np.ndarray:
    """P(click | examined) = (2^rel - 1) / (2^MAX_GRADE - 1) of documents with the given grades."""
    return (np.exp2(np.asarray(labels, dtype=np.float64)) - 1.0) / (2.0**MAX_GRADE - 1.0)


def production_scores(dataset: RankingDataset, feature: int | None = None) -> np.ndarray:
    """The deployed ranker's scores (Q, N): one feature (default: the best single one on the train split)."""
    if feature is None:
        feature = best_single_feature(make_splits()[0])
    return dataset.features[:, :, feature].astype(np.float64)


def simulate_clicks(dataset: RankingDataset, n_sessions: int, seed: int,
                    scores: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """A click log of ``n_sessions`` sessions on queries drawn uniformly, each showing the query's documents
    ranked by ``scores`` (default: the production ranker), clicked under the position-based model."""
    scores = production_scores(dataset) if scores is None else np.asarray(scores, dtype=np.float64)
    rng = np.random.default_rng(seed)
    query = rng.integers(dataset.n_queries, size=n_sessions)
    ranking = rank_by_scores(scores[query])
    shown_labels = np.take_along_axis(dataset.labels[query], ranking, axis=1)
    p_click = examination_probabilities(dataset.n_docs)[None, :] * attractiveness(shown_labels)
    clicks = (rng.random(p_click.shape) < p_click).astype(np.int8)
    return {"query": query.astype(np.int64), "ranking": ranking.astype(np.int64), "clicks": clicks}


def expected_clicks(dataset: RankingDataset, ranking: np.ndarray, query: np.ndarray) -> np.ndarray:
    """P(click) by position (S, N) for sessions showing ``ranking`` (S, N) on ``query`` (S,)."""
    shown_labels = np.take_along_axis(dataset.labels[query], ranking, axis=1)
    return examination_probabilities(dataset.n_docs)[None, :] * attractiveness(shown_labels)
