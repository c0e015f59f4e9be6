"""Ranking as an MDP (MDPRank, Wei et al., SIGIR 2017) on a synthetic learning-to-rank data set.

Data set. Each query has N candidate documents with d features drawn i.i.d. from Normal(0, 1) (clipped to
[-FEATURE_BOUND, FEATURE_BOUND], which touches < 1e-6 of the values). A hidden unit-norm weight vector w*
with non-negative entries (every feature is, like BM25, positively related to relevance) defines the
latent utility ``u = (x @ w* + LABEL_NOISE_STD * eps) / sqrt(1 + LABEL_NOISE_STD**2)`` ~ Normal(0, 1),
and the graded relevance in 0..4 is the number of CUT_POINTS below u (about 50 / 32 / 13 / 4 / 1 % of the
documents get grades 0 / 1 / 2 / 3 / 4, a typical web-search profile). Because the noise is independent of
the features and the grade is monotone in u, ranking by the **oracle score x @ w*** orders documents by
their expected gain: it is the best scorer that can be built from the features, and its NDCG is the
ceiling that learned rankers are compared with (``reference_scores``).

Episode. One query (drawn with the env's seeded ``np_random`` on reset from all queries or from the env's
``queries``, or ``options={"query": i}``). At
step t = 0, ..., K-1 (K = min(k, N)) the agent places one not-yet-placed document at position t + 1;
the episode terminates after K placements. Observation (``spaces.Dict``): "features" (N, d) float32, "mask"
MultiBinary(N) (1 = still available) and "position" Discrete(K + 1) (= t). ``info["action_mask"]`` repeats
the mask (np.int8) for masked policies. Placing an already placed document raises ValueError.

Rewards (see ``rlir.ir_metrics`` for the DCG conventions: gain 2^rel - 1, discount 1/log2(position + 1)):

* "labels": r_t = (2^rel - 1) / log2(t + 2) / IDCG@K, so the undiscounted return is exactly NDCG@K.
* "clicks": position-based click model. Position t + 1 is examined with probability 1/log2(t + 2) (the DCG
  discount) and an examined document is clicked with probability (2^rel - 1) / (2^MAX_GRADE - 1). A click
  pays (2^MAX_GRADE - 1) / IDCG@K, so E[r_t] = (2^rel - 1) / log2(t + 2) / IDCG@K and the *expected* return
  is exactly NDCG@K; a single return is a noisy, unbiased estimate of it.

Queries with IDCG@K = 0 (no relevant candidate) have NDCG@K = 0 by convention (as in ``rlir.ir_metrics``),
and the env rewards 0 at every step for them (in both modes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlir.envs.user_satisfaction import validate_discrete_action
from rlir.ir_metrics import discounts, expected_random_ndcg, ideal_dcg, ndcg_of_scores

# ----------------------------------------------------------------------------------------------------------
# CONSTANTS
# ----------------------------------------------------------------------------------------------------------
N_DOCS = 20  # candidates per query
N_FEATURES = 10  # features per document
TOP_K = 10  # positions to fill (NDCG@10)
N_QUERIES = 1000  # queries in the default data set
TEST_FRACTION = 0.3  # default split: 700 train / 300 test queries
DATASET_SEED = 0  # seed of the default data set used by the registered env
LABEL_NOISE_STD = 0.5  # noise of the latent utility relative to the unit-variance signal x @ w*
CUT_POINTS = (0.0, 0.9, 1.6, 2.3)  # thresholds on the standardised utility -> grades 0..4
MAX_GRADE = len(CUT_POINTS)  # 4
FEATURE_BOUND = 5.0  # features are clipped to [-FEATURE_BOUND, FEATURE_BOUND]
REWARD_MODES = ("labels", "clicks")


@dataclass(frozen=True, eq=False)
class RankingDataset:
    """A set of queries: ``features`` (Q, N, d) float32, ``labels`` (Q, N) int64 grades in 0..MAX_GRADE.

    ``w_star`` (d,) is the generator's hidden weight vector (None for data not made by
    ``make_ranking_dataset``); ``oracle_scores()`` = features @ w_star.
    """

    features: np.ndarray
    labels: np.ndarray
    w_star: np.ndarray | None = None

    def __post_init__(self) -> None:
        f, y = self.features, self.labels
        if f.ndim != 3 or y.shape != f.shape[:2] or f.dtype != np.float32:
            raise ValueError(f"need features (Q, N, d) float32 and labels (Q, N); got {f.shape} {f.dtype}, "
                             f"{y.shape}")
        if not np.issubdtype(y.dtype, np.integer) or y.size and (y.min() < 0 or y.max() > MAX_GRADE):
            raise ValueError(f"labels must be integers in [0, {MAX_GRADE}]")
        if not np.all(np.isfinite(f)):
            raise ValueError("features must be finite")
        if self.w_star is not None and self.w_star.shape != (f.shape[2],):
            raise ValueError(f"w_star must have shape ({f.shape[2]},), got {self.w_star.shape}")

    @property
    def n_queries(self) -> int:
        """Number of queries Q."""
        return self.features.shape[0]

    @property
    def n_docs(self) -> int:
        """Candidates per query N."""
        return self.features.shape[1]

    @property
    def n_features(self) -> int:
        """Features per document d."""
        return self.features.shape[2]

    def oracle_scores(self) -> np.ndarray:
        """Scores ``features @ w_star`` (Q, N) of the best possible linear scorer."""
        if self.w_star is None:
            raise ValueError("this data set has no generating weights (w_star is None)")
        return self.features.astype(np.float64) @ self.w_star

    def subset(self, queries: np.ndarray) -> RankingDataset:
        """The data set restricted to the given query indices (same w_star)."""
        return RankingDataset(self.features[queries], self.labels[queries], self.w_star)


def make_ranking_dataset(
    n_queries: int = N_QUERIES, n_docs: int = N_DOCS, n_features: int = N_FEATURES, seed: int = DATASET_SEED,
    noise_std: float = LABEL_NOISE_STD, cut_points: tuple[float, ...] = CUT_POINTS,
) -> RankingDataset:
    """Generate a synthetic LTR data set whose ideal scorer is known (see the module docstring)."""
    if len(cut_points) != MAX_GRADE or list(cut_points) != sorted(cut_points):
        raise ValueError(f"cut_points must be {MAX_GRADE} increasing thresholds, got {cut_points}")
    rng = np.random.default_rng(seed)
    w_star = np.abs(rng.standard_normal(n_features))
    w_star /= np.linalg.norm(w_star)
    features = np.clip(rng.standard_normal((n_queries, n_docs, n_features)), -FEATURE_BOUND, FEATURE_BOUND)
    features = features.astype(np.float32)
    utility = features.astype(np.float64) @ w_star + noise_std * rng.standard_normal((n_queries, n_docs))
    utility /= np.sqrt(1.0 + noise_std**2)
    labels = np.searchsorted(np.asarray(cut_points), utility, side="right").astype(np.int64)
    return RankingDataset(features, labels, w_star)


def train_test_split(
    dataset: RankingDataset, test_fraction: float = TEST_FRACTION, seed: int = DATASET_SEED
) -> tuple[RankingDataset, RankingDataset]:
    """Split the queries at random (seeded) into (train, test)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(dataset.n_queries)
    n_test = int(round(test_fraction * dataset.n_queries))
    return dataset.subset(np.sort(order[n_test:])), dataset.subset(np.sort(order[:n_test]))


def make_splits(seed: int = DATASET_SEED, **kwargs: Any) -> tuple[RankingDataset, RankingDataset]:
    """The course's standard (train, test) split: ``make_ranking_dataset(seed=seed, **kwargs)``, 70/30."""
    return train_test_split(make_ranking_dataset(seed=seed, **kwargs), TEST_FRACTION, seed)


def best_single_feature(dataset: RankingDataset, k: int = TOP_K) -> int:
    """Index of the feature that, used alone as a score, has the highest mean NDCG@k on ``dataset``."""
    means = [ndcg_of_scores(dataset.features[:, :, j], dataset.labels, k).mean()
             for j in range(dataset.n_features)]
    return int(np.argmax(means))


def reference_scores(
    dataset_or_split: RankingDataset | tuple[RankingDataset, RankingDataset], k: int = TOP_K
) -> dict[str, float]:
    """Mean NDCG@k of the reference rankers on the test data.

    Given a (train, test) pair, the best single feature is selected on train and every figure is reported
    on test; given one data set, everything is computed on it. Keys: "random" (exact expectation over
    uniform rankings), "best_single_feature", "oracle" (features @ w*).
    """
    if isinstance(dataset_or_split, RankingDataset):
        train = test = dataset_or_split
    else:
        train, test = dataset_or_split
    j = best_single_feature(train, k)
    return {
        "random": float(expected_random_ndcg(test.labels, k).mean()),
        "best_single_feature": float(ndcg_of_scores(test.features[:, :, j], test.labels, k).mean()),
        "oracle": float(ndcg_of_scores(test.oracle_scores(), test.labels, k).mean()),
    }


class RankingEnv(gym.Env[dict, np.int64]):
    """MDPRank environment: build the top-K ranking of one query document by document.

    Arguments: ``dataset`` (default: the ``split`` part, "train" or "test", of ``make_splits(DATASET_SEED)``),
    ``k`` (positions to fill, capped at N), ``reward_mode`` ("labels" or "clicks"), ``queries`` (the query
    indices episodes are drawn from; default all). See the module docstring.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self, dataset: RankingDataset | None = None, k: int = TOP_K, reward_mode: str = "labels",
        split: str = "train", render_mode: str | None = None, queries: Sequence[int] | None = None,
    ) -> None:
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if dataset is None:
            if split not in ("train", "test"):
                raise ValueError(f"split must be 'train' or 'test', got {split!r}")
            dataset = make_splits(DATASET_SEED)[0 if split == "train" else 1]
        self.dataset, self.reward_mode, self.render_mode = dataset, reward_mode, render_mode
        if queries is None:
            self.queries = np.arange(dataset.n_queries)
        else:
            self.queries = np.array([validate_discrete_action(q, dataset.n_queries, "a query of `queries`")
                                     for q in queries], dtype=np.int64)
            if not len(self.queries):
                raise ValueError("queries must hold at least one query index")
        n, d = dataset.n_docs, dataset.n_features
        self.k = min(int(k), n)
        bound = max(FEATURE_BOUND, float(np.abs(dataset.features).max(initial=0.0)))
        self.observation_space = spaces.Dict({
            "features": spaces.Box(-bound, bound, shape=(n, d), dtype=np.float32),
            "mask": spaces.MultiBinary(n),
            "position": spaces.Discrete(self.k + 1),
        })
        self.action_space = spaces.Discrete(n)
        self._gains = np.exp2(dataset.labels.astype(np.float64)) - 1.0
        self._idcg = ideal_dcg(dataset.labels, self.k)
        self._discounts = discounts(self.k)
        self._click_scale = 2.0**MAX_GRADE - 1.0
        self._query: int | None = None
        self._features = np.empty((n, d), dtype=np.float32)
        self._mask = np.ones(n, dtype=np.int8)
        self._placed: list[int] = []
        self._dcg = 0.0

    def _obs(self) -> dict[str, Any]:
        """A fresh observation: arrays of its own, so that no two observations (of reset and step, or of two
        steps) share memory with each other or with the environment's state."""
        return {"features": self._features.copy(), "mask": self._mask.copy(), "position": len(self._placed)}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode on a random query (or ``options["query"]``) with nothing placed."""
        super().reset(seed=seed)
        if options and "query" in options:
            what = 'options["query"]'
            self._query = validate_discrete_action(options["query"], self.dataset.n_queries, what)
        else:
            self._query = int(self.queries[self.np_random.integers(len(self.queries))])
        self._features = self.dataset.features[self._query].copy()
        self._features.flags.writeable = False
        self._mask = np.ones(self.dataset.n_docs, dtype=np.int8)
        self._placed, self._dcg = [], 0.0
        return self._obs(), {"action_mask": self._mask.copy(), "query": self._query}

    def step(self, action: int) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Place document ``action`` at the next position -> (obs, reward, terminated, truncated, info)."""
        if self._query is None or len(self._placed) >= self.k:
            raise gym.error.ResetNeeded("call reset() before step() (the ranking is complete or not started)")
        doc = validate_discrete_action(action, self.dataset.n_docs)
        if not self._mask[doc]:
            position = self._placed.index(doc) + 1
            raise ValueError(f"action {doc}: document already placed at position {position}; "
                             f"choose an available document (info['action_mask'] == 1)")
        t = len(self._placed)
        gain, idcg = self._gains[self._query, doc], self._idcg[self._query]
        self._dcg += gain * self._discounts[t]
        info: dict[str, Any] = {}
        if idcg == 0.0:
            reward = 0.0
        elif self.reward_mode == "labels":
            reward = float(gain * self._discounts[t] / idcg)
        else:
            clicked = bool(self.np_random.random() < self._discounts[t] * gain / self._click_scale)
            info["click"] = clicked
            reward = self._click_scale / idcg if clicked else 0.0
        self._mask[doc] = 0
        self._placed.append(doc)
        terminated = len(self._placed) == self.k
        info["action_mask"] = self._mask.copy()
        if terminated:
            info["ndcg"] = float(self._dcg / idcg) if idcg > 0 else 0.0
            info["ranking"] = np.array(self._placed)
        return self._obs(), reward, terminated, False, info

    def render(self) -> str | None:
        """Return the current partial ranking as text (render_mode "ansi")."""
        if self.render_mode != "ansi":
            return None
        placed = ", ".join(f"{doc}(rel {self.dataset.labels[self._query, doc]})" for doc in self._placed) \
            if self._query is not None else ""
        return f"query {self._query} | {len(self._placed)}/{self.k} placed: [{placed}]\n"
