"""Checks for assignment 5, REINFORCE for ranking (MDPRank on the course's synthetic LTR data set).

Every check tests a property any correct solution has. Plackett-Luce is judged by enumeration (the
probabilities of all top-k rankings of a few documents sum to one) and by its definition (a sum of log-softmax
terms over the documents still available); sampling by the frequencies of whole rankings (chi-square against
the enumerated distribution); the loss by its value and, through the student's own ``LinearScorer``, by the
gradient it produces: a step raises the probability of a ranking with positive return, and the expected
gradient (enumerated over all rankings) equals minus the exact gradient of the expected return, with or
without a baseline. The learning checks rank held-out queries with the returned scorer and compute NDCG@10
here, never with the student's ``evaluate_ranker``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from hypothesis import strategies as st
from scipy import stats

import rlir.envs  # noqa: F401  (registers rlir/Ranking-v0)
from autograder.toolkit.checks import check, learning_curve
from autograder.toolkit.codec import Fixture
from autograder.toolkit.framework import (
    Hints,
    as_argument,
    as_array,
    as_scalar,
    as_tuple,
    call_student,
    fail,
    for_all,
    gradients,
    had_grad_fn,
    mlp_parameter_count,
    parameter_count,
    remote,
    repeat_calls,
    require_tensor,
    show,
    with_timeout,
)
from rlir.envs.ranking import TOP_K, make_splits, reference_scores
from rlir.ir_metrics import ndcg_of_scores

FOLDER = "05_reinforce_for_ir"  # under source/ and release/ (the assignment's id is this module's name)
# The public contract: what students define, with these exact names and signatures.
CONTRACT = ("LinearScorer", "MLPScorer", "sample_ranking", "plackett_luce_log_prob", "position_returns",
            "ranking_reinforce_loss", "train_ranker", "evaluate_ranker")
# A training run another graded cell already made with the same arguments is shared, not repeated.
SHARED_RUNS = ("train_ranker",)

ENV_ID = "rlir/Ranking-v0"
GRADING_SEED = 20210711
LABELS_EPISODES = 2000
CLICKS_EPISODES = 4000
LABELS_CONFIG = {"scorer": "linear", "lr": 0.05, "batch_size": 16, "baseline": True, "gamma": 1.0}
CLICKS_CONFIG = {"scorer": "linear", "lr": 0.02, "batch_size": 16, "baseline": True, "gamma": 1.0}
LABELS_RATIO = 0.95  # of the oracle scorer's NDCG@10 on the held-out (test) queries
CLICKS_RATIO = 0.90
TRAINING_TIMEOUT = 150.0  # CPU seconds per training call; the solution needs ~5
GENERATOR_FACTORY = "autograder.assignments.fixtures.reinforce_for_ir.seeded_generator"
SCORER_FACTORY = "autograder.assignments.fixtures.reinforce_for_ir.FixedLinearScorer"
TOL = 1e-4


# ---------------------------------------------------------------------------------------------------------
# Helpers: Plackett-Luce from its definition, arguments that must be built where the student's code runs
# ---------------------------------------------------------------------------------------------------------
def pl_position_log_probs(scores: torch.Tensor, ranking) -> torch.Tensor:
    """log pi(a_t | s_t) = s[a_t] - logsumexp(s[documents not placed before t]), for every position t."""
    scores = torch.as_tensor(scores, dtype=torch.float64)
    terms, placed = [], []
    for doc in [int(d) for d in ranking]:
        remaining = [j for j in range(len(scores)) if j not in placed]
        terms.append(scores[doc] - torch.logsumexp(scores[remaining], dim=0))
        placed.append(doc)
    return torch.stack(terms) if terms else torch.zeros(0, dtype=torch.float64)


def pl_log_prob(scores, ranking) -> float:
    return float(pl_position_log_probs(scores, ranking).sum())


def top_k_rankings(n: int, k: int) -> list[tuple[int, ...]]:
    """Every ordered selection of k distinct documents out of n."""
    return list(itertools.permutations(range(n), k))


def pl_distribution(scores, k: int) -> tuple[list[tuple[int, ...]], np.ndarray]:
    rankings = top_k_rankings(len(scores), k)
    return rankings, np.array([math.exp(pl_log_prob(scores, r)) for r in rankings])


def generator(function: Any, seed: int) -> Any:
    return as_argument(function, Fixture(GENERATOR_FACTORY, (seed,)))


# What a failure of the toolkit's validators advises here: scores, rankings, returns and losses are tensors.
TENSOR_HINT = "return a tensor (torch.tensor(...), torch.stack(...)), not a list, an array or a float"
HINTS = Hints(type=TENSOR_HINT)
SCALAR_HINTS = Hints(type=TENSOR_HINT, size="sum over the positions (and the documents) to return a single number",
                     finite="use torch.logsumexp (or log_softmax) instead of log(sum(exp(...))), which overflows "
                     "for large scores")


def scores_text(scores) -> str:
    return show(np.asarray(torch.as_tensor(scores).detach(), dtype=float))


def call_method(prop: str, text: str, obj: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """``obj.method(*args, **kwargs)`` on a student's object (a reference when grading), failures reported."""
    return call_student(prop, text, lambda: getattr(obj, method)(*args, **kwargs))


def float_scores(values, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(values, dtype=np.float32), requires_grad=requires_grad)


# ---------------------------------------------------------------------------------------------------------
# LinearScorer and MLPScorer
# ---------------------------------------------------------------------------------------------------------
def score(prop: str, text: str, scorer: Any, documents: np.ndarray) -> torch.Tensor:
    """Call a scorer on (N, d) documents; check it returns (N,) finite float scores attached to a graph."""
    out = call_student(prop, text, scorer, torch.tensor(documents, dtype=torch.float32))
    out = require_tensor(prop, text, out, what="the scores", hint=TENSOR_HINT)
    n = documents.shape[0]
    if tuple(out.shape) != (n,):
        fail(prop, text, f"scores of shape ({n},)", f"shape {tuple(out.shape)}",
             "one score per document: squeeze the last dimension of the Linear layer's (N, 1) output")
    if not out.is_floating_point() or not torch.all(torch.isfinite(out.detach())):
        fail(prop, text, "finite floating-point scores", show(out.detach().numpy()), "return the layer's output")
    if not had_grad_fn(out):
        fail(prop, text, "scores attached to the computation graph (differentiable)", "a tensor without grad_fn",
             "do not detach, use .item(), numpy or torch.no_grad() in forward")
    return out


def check_scorer_basics(prop: str, make: Callable[[], Any], name: str, n_features: int, rng) -> Any:
    text = f"{name}, documents of shape (N, {n_features}) drawn from Normal(0, 1)"
    scorer = call_student(prop, text, make)
    documents = rng.standard_normal((7, n_features)).astype(np.float32)
    values = score(prop, text, scorer, documents).detach().numpy()
    perm = rng.permutation(7)
    permuted = score(prop, text + ", rows permuted", scorer, documents[perm]).detach().numpy()
    if not np.allclose(permuted, values[perm], atol=TOL):
        fail(prop, text + f", rows permuted by {perm.tolist()}", f"the same scores permuted: {show(values[perm])}",
             show(permuted), "score every document on its own (no normalisation across the documents)")
    single = score(prop, text + ", one document", scorer, documents[:1]).detach().numpy()
    if not np.allclose(single, values[:1], atol=TOL):
        fail(prop, text + ", the first document alone", show(values[:1]), show(single),
             "a document's score must not depend on the other candidates")
    return scorer


@check("scorers")
def check_scorers(LinearScorer: Any, MLPScorer: Any) -> str:
    """Both map (N, d) to (N,) differentiably, one document at a time; Linear is affine with d (+1) parameters;
    the MLP has the requested hidden layers (its parameter count) and is not affine."""
    prop = ("LinearScorer and MLPScorer map documents (N, d) to differentiable scores (N,), scoring each "
            "document on its own; LinearScorer is affine, MLPScorer has the given hidden sizes and is not")
    rng = np.random.default_rng(11)
    for d in (1, 4, 10):
        text = f"LinearScorer({d})"
        linear = check_scorer_basics(prop, lambda d=d: LinearScorer(d), text, d, rng)
        n_params = parameter_count(prop, text, linear)
        if n_params not in (d, d + 1):
            fail(prop, text, f"{d} weights (+ 1 bias) = {d + 1} parameters", f"{n_params} parameters",
                 "use one nn.Linear(n_features, 1) layer")
        a, b = rng.standard_normal((2, 6, d)).astype(np.float32) * 2
        fa, fb = (score(prop, text, linear, x).detach().numpy() for x in (a, b))
        mid = score(prop, text, linear, (a + b) / 2).detach().numpy()
        if not np.allclose(mid, (fa + fb) / 2, atol=1e-4):
            fail(prop, text + ": f((x + y) / 2) vs (f(x) + f(y)) / 2", show((fa + fb) / 2), show(mid),
                 "a linear scorer is w . x + b: no activation function")
    details = []
    for d, hidden in ((10, None), (3, (8,)), (5, (16, 4))):
        sizes = (32,) if hidden is None else hidden
        text = f"MLPScorer({d})" if hidden is None else f"MLPScorer({d}, hidden_sizes={hidden})"
        make = (lambda d=d: MLPScorer(d)) if hidden is None else (lambda d=d, h=hidden: MLPScorer(d, h))
        mlp = check_scorer_basics(prop, make, text, d, rng)
        widths = (d, *sizes, 1)
        expected = mlp_parameter_count(widths)
        n_params = parameter_count(prop, text, mlp)
        if n_params not in (expected, expected - 1):
            fail(prop, text, f"layers {' -> '.join(map(str, widths))} with biases: {expected} parameters",
                 f"{n_params} parameters", "one nn.Linear per hidden size (with a nonlinearity after each), then "
                 "nn.Linear(last hidden size, 1)")
        a, b = rng.standard_normal((2, 20, d)).astype(np.float32) * 3
        fa, fb = (score(prop, text, mlp, x).detach().numpy() for x in (a, b))
        mid = score(prop, text, mlp, (a + b) / 2).detach().numpy()
        if np.allclose(mid, (fa + fb) / 2, atol=1e-4):
            fail(prop, text + ": f((x + y) / 2) vs (f(x) + f(y)) / 2 on 20 random pairs",
                 "a nonlinear function (the two differ for some pair)", "equal for every pair (an affine map)",
                 "put a nonlinearity (nn.ReLU, nn.Tanh) after every hidden layer")
        details.append(f"{n_params} parameters")
    return "LinearScorer affine; MLPScorer " + ", ".join(details)


# ---------------------------------------------------------------------------------------------------------
# plackett_luce_log_prob
# ---------------------------------------------------------------------------------------------------------
grid_scores = st.integers(-12, 12).map(lambda i: i / 4)


@st.composite
def small_case(draw, max_rankings: int = 60):
    """Scores of 2-5 documents and a k >= 2 such that there are at most ``max_rankings`` top-k rankings (with
    k = 1 a softmax over all documents is right at every position, so it cannot tell the bug apart)."""
    n = draw(st.integers(2, 5))
    k = draw(st.integers(2, n).filter(lambda k: math.perm(n, k) <= max_rankings))
    scores = draw(st.lists(grid_scores, min_size=n, max_size=n))
    offset = draw(st.sampled_from([0.0, 0.0, 100.0]))
    return [s + offset for s in scores], k


# Explicit examples: one document, k = 1, tied scores, a large offset.
NORMALISED_EXAMPLES = (([0.5], 1), ([1.0, -0.5, 2.0], 1), ([0.0, 0.0, 0.0, 0.0], 3), ([101.5, 100.0, 99.25], 3))


@check("plackett_luce_normalised")
def check_plackett_luce_normalised(plackett_luce_log_prob: Callable) -> str:
    """For N <= 5 documents the probabilities exp(log_prob) of all top-k rankings sum to one."""
    prop = "the Plackett-Luce probabilities of all N!/(N-k)! top-k rankings sum to one"

    def body(case):
        scores, k = case
        total = 0.0
        for ranking in top_k_rankings(len(scores), k):
            text = f"scores={scores_text(scores)}, ranking={list(ranking)}"
            got = call_student(prop, text, plackett_luce_log_prob, float_scores(scores),
                               torch.tensor(ranking, dtype=torch.long))
            value = as_scalar(prop, text, got, "log-probability", tensor=True, hints=SCALAR_HINTS)
            if value > 1e-5:
                fail(prop, text, "a log-probability <= 0", value, "each factor is a softmax probability <= 1")
            total += math.exp(value)
        if abs(total - 1.0) > 1e-3:
            fail(prop, f"scores={scores_text(scores)}, k={k}: the sum over all {math.perm(len(scores), k)} "
                 "rankings", "1.0", f"{total:.6g}", "at position t take the softmax over the documents not "
                 "placed yet (not over all documents): the probabilities then multiply to a distribution")

    for_all(small_case(), body, max_examples=30, examples=NORMALISED_EXAMPLES)
    return f"{30 + len(NORMALISED_EXAMPLES)} score vectors, every top-k ranking enumerated"


@st.composite
def ranking_case(draw, max_docs: int = 8):
    """Scores of 2..max_docs documents and a top-k ranking of them with k >= 2 (RANKING_EXAMPLES adds k = 1)."""
    n = draw(st.integers(2, max_docs))
    scores = draw(st.lists(grid_scores, min_size=n, max_size=n))
    offset = draw(st.sampled_from([0.0, 0.0, 0.0, -50.0, 100.0]))
    order = draw(st.permutations(list(range(n))))
    k = draw(st.integers(2, n))
    return [s + offset for s in scores], list(order[:k])


# Explicit examples: one document, k = 1 of several, a full ranking of tied scores, large negative scores.
RANKING_EXAMPLES = (([1.25], [0]), ([0.5, -1.0, 2.0], [1]), ([0.0, 0.0, 0.0, 0.0], [2, 0, 3, 1]),
                    ([-52.0, -49.5, -50.25, -51.0, -48.0], [4, 0, 2]))


@check("plackett_luce_log_softmax_terms")
def check_plackett_luce_log_softmax_terms(plackett_luce_log_prob: Callable) -> str:
    """log P(ranking) = sum_t [s(a_t) - logsumexp of the scores of the documents still available], and it is
    differentiable (attached to the graph of the scores)."""
    prop = ("log P(ranking) = sum over positions t of [s(a_t) - logsumexp(s of the documents not placed before "
            "t)], differentiable in the scores")

    def body(case):
        scores, ranking = case
        text = f"scores={scores_text(scores)}, ranking={ranking}"
        got = call_student(prop, text, plackett_luce_log_prob, float_scores(scores, requires_grad=True),
                           torch.tensor(ranking, dtype=torch.long))
        value = as_scalar(prop, text, got, "log-probability", tensor=True, hints=SCALAR_HINTS)
        expected = pl_log_prob(scores, ranking)
        if abs(value - expected) > TOL * (1 + abs(expected)):
            fail(prop, text, f"{expected:.6g}", f"{value:.6g}", "the normaliser at position t is the logsumexp "
                 "over the documents still available (drop the ones already placed); use torch.logsumexp")
        if not had_grad_fn(got):
            fail(prop, text + " (scores with requires_grad=True)", "a tensor attached to the graph of the scores",
                 "a tensor without grad_fn", "compute with torch operations on `scores` (no .item(), numpy or "
                 "detach)")

    for_all(ranking_case(), body, max_examples=80, examples=RANKING_EXAMPLES)
    return f"{80 + len(RANKING_EXAMPLES)} examples"


# ---------------------------------------------------------------------------------------------------------
# sample_ranking
# ---------------------------------------------------------------------------------------------------------
def draw_rankings(prop: str, sample_ranking: Callable, scores, k: int, n_draws: int, seed: int) -> list:
    text = (f"scores={scores_text(scores)}, k={k}, {n_draws} calls with one generator = "
            f"torch.Generator().manual_seed({seed})")
    draws = call_student(prop, text, repeat_calls, sample_ranking, n_draws, float_scores(scores, True), k,
                         generator(sample_ranking, seed))
    n = len(scores)
    rankings = []
    for ranking in draws:
        ranking = require_tensor(prop, text, ranking, what="the ranking", hint=TENSOR_HINT)
        if ranking.dtype != torch.long or tuple(ranking.shape) != (k,):
            fail(prop, text, f"a LongTensor of shape ({k},)", f"{ranking.dtype} of shape {tuple(ranking.shape)}",
                 "return torch.tensor(documents, dtype=torch.long) with k document indices")
        values = ranking.tolist()
        if min(values) < 0 or max(values) >= n:
            fail(prop, text, f"document indices in 0..{n - 1}", values, "sample indices of the documents")
        if len(set(values)) != k:
            fail(prop, text, "k distinct documents", values, "sample without replacement: once placed, a document "
                 "is no longer available (mask it out before the next softmax)")
        rankings.append(tuple(values))
    return rankings


@check("sample_ranking_valid")
def check_sample_ranking_valid(sample_ranking: Callable) -> str:
    """k distinct valid indices as a LongTensor; the same generator seed gives the same rankings, another seed
    other rankings (all randomness comes from ``generator``)."""
    prop = ("sample_ranking returns k distinct documents as a LongTensor, and its randomness comes only from "
            "`generator`")
    rng = np.random.default_rng(5)
    cases = [([0.3], 1), (rng.normal(size=5), 1), (rng.normal(size=5), 3), (rng.normal(size=6), 6),
             (rng.normal(size=20), 10), ([30.0, 0.0, 0.0, -30.0], 4), ([0.0] * 8, 5)]
    for index, (scores, k) in enumerate(cases):
        draw_rankings(prop, sample_ranking, scores, k, 40, seed=index)
    scores, k = rng.normal(size=8), 4
    first = draw_rankings(prop, sample_ranking, scores, k, 30, seed=1)
    again = draw_rankings(prop, sample_ranking, scores, k, 30, seed=1)
    text = f"scores={scores_text(scores)}, k={k}, 30 calls with torch.Generator().manual_seed(s)"
    if first != again:
        fail(prop, text + " for s = 1, twice", "the same 30 rankings both times", "different rankings",
             "draw every random number with `generator=generator` (torch.multinomial(..., generator=generator), "
             "torch.rand(..., generator=generator)); no global RNG")
    other = draw_rankings(prop, sample_ranking, scores, k, 30, seed=2)
    if first == other:
        fail(prop, text + " for s = 1 and s = 2", "different rankings for different seeds", "the same rankings",
             "draw every random number from `generator`, not from torch's global RNG")
    return f"{len(cases)} cases x 40 draws, reproducible"


FREQUENCY_CASES = (
    ([1.0, 0.0, -0.5, 0.5], 2),
    ([2.0, 1.0, 0.0], 3),
    ([0.3, -1.0, 1.2, 0.0, 0.8], 2),
    ([0.0, 0.0, 0.0, 0.0], 4),
    ([1.5, -0.5, 0.5, 0.0, -1.0], 1),
)


@check("sample_ranking_frequencies")
def check_sample_ranking_frequencies(sample_ranking: Callable) -> str:
    """The frequencies of whole rankings match the Plackett-Luce probabilities (chi-square, fails if p < 1e-6)."""
    prop = "sampled top-k rankings follow the Plackett-Luce distribution (softmax over the remaining documents)"
    n_draws = 5000
    for index, (scores, k) in enumerate(FREQUENCY_CASES):
        rankings, probs = pl_distribution(scores, k)
        draws = draw_rankings(prop, sample_ranking, scores, k, n_draws, seed=100 + index)
        position = {r: i for i, r in enumerate(rankings)}
        counts = np.bincount([position[r] for r in draws], minlength=len(rankings))
        p_value = stats.chisquare(counts, probs * n_draws).pvalue
        if p_value < 1e-6:
            worst = int(np.argmax(np.abs(counts / n_draws - probs)))
            fail(prop, f"scores={scores_text(scores)}, k={k}, {n_draws} draws with "
                 f"torch.Generator().manual_seed({100 + index})",
                 f"frequency of ranking {list(rankings[worst])} = {probs[worst]:.4f} (Plackett-Luce)",
                 f"{counts[worst] / n_draws:.4f} (chi-square over all rankings p = {p_value:.1e})",
                 "at each position sample one document with probability softmax(scores of the remaining "
                 "documents); do not sort, and do not sample all positions from the same softmax")
    return f"{len(FREQUENCY_CASES)} cases x {n_draws} draws"


# ---------------------------------------------------------------------------------------------------------
# position_returns
# ---------------------------------------------------------------------------------------------------------
def rewards_to_go(rewards, gamma: float) -> np.ndarray:
    """G_t = sum_{i >= 0} gamma^i r_{t+i}."""
    out, future = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        future = rewards[t] + gamma * future
        out[t] = future
    return out


@check("position_returns")
def check_position_returns(position_returns: Callable) -> str:
    """G_t = r_t + gamma G_{t+1} with G_{K-1} = r_{K-1}, returned as a tensor of shape (K,); gamma defaults to 1."""
    prop = "position_returns gives the rewards-to-go G_t = r_t + gamma * r_(t+1) + gamma^2 * r_(t+2) + ..."

    def body(case):
        rewards, gamma = case
        text = f"rewards={rewards}" + ("" if gamma is None else f", gamma={gamma}")
        args = (torch.tensor(rewards, dtype=torch.float32),) + (() if gamma is None else (gamma,))
        got = as_array(prop, text, call_student(prop, text, position_returns, *args), shape=(len(rewards),),
                       what="the returns", tensor=True, hints=HINTS)
        expected = rewards_to_go(rewards, 1.0 if gamma is None else gamma)
        if not np.allclose(got, expected, rtol=1e-5, atol=1e-5):
            fail(prop, text, expected, got, "sum from position t to the END of the list (iterate backwards: "
                 "G = r_t + gamma * G), not from the start; the reward at t itself is not discounted")

    # gamma mostly in (0, 1): with gamma 0 or 1, discounting from the start and from t cannot be told apart;
    # at least two positions (the explicit examples add one)
    gammas = (0.9, 0.5, 0.99, 0.25, 0.75, 0.6, 0.8, None, 1.0, 0.0)
    strategy = st.tuples(st.lists(st.integers(-8, 8).map(lambda i: i / 4), min_size=2, max_size=10),
                         st.integers(0, len(gammas) - 1).map(gammas.__getitem__))
    examples = (([0.75], 0.9), ([0.0, 0.0, 1.0], None), ([1.0, 0.0, -0.5, 2.0], 0.5), ([0.5, 1.0], 0.0))
    for_all(strategy, body, max_examples=80, examples=examples)
    return f"{80 + len(examples)} examples"


# ---------------------------------------------------------------------------------------------------------
# ranking_reinforce_loss
# ---------------------------------------------------------------------------------------------------------
@st.composite
def loss_case(draw):
    scores, ranking = draw(ranking_case(max_docs=7))
    k = len(ranking)
    returns = draw(st.lists(st.integers(-8, 12).map(lambda i: i / 4), min_size=k, max_size=k))
    kind = draw(st.sampled_from(["vector", "scalar", "none"]))  # the most telling first (a derandomized draw)
    baseline = None if kind == "none" else (draw(st.integers(-4, 4).map(lambda i: i / 4)) if kind == "scalar"
                                            else draw(st.lists(st.integers(-4, 4).map(lambda i: i / 4),
                                                               min_size=k, max_size=k)))
    return scores, ranking, returns, baseline


def baseline_argument(baseline):
    if isinstance(baseline, list):
        return torch.tensor(baseline, dtype=torch.float32)
    return baseline


def expected_loss(scores, ranking, returns, baseline) -> float:
    b = np.zeros(len(ranking)) if baseline is None else np.broadcast_to(np.asarray(baseline, float), len(ranking))
    terms = pl_position_log_probs(scores, ranking).numpy()
    return float(-np.sum((np.asarray(returns) - b) * terms))


@check("reinforce_loss_value")
def check_reinforce_loss_value(ranking_reinforce_loss: Callable) -> str:
    """loss = -sum_t (G_t - b_t) log pi(a_t | s_t), a differentiable scalar; baseline None, a float or one value
    per position."""
    prop = ("ranking_reinforce_loss = -sum over positions t of (G_t - b_t) * log pi(a_t | s_t), with pi the "
            "softmax over the remaining documents")

    def body(case):
        scores, ranking, returns, baseline = case
        text = (f"scores={scores_text(scores)}, ranking={ranking}, returns={returns}, baseline="
                f"{'None' if baseline is None else baseline}")
        got = call_student(prop, text, ranking_reinforce_loss, float_scores(scores, True),
                           torch.tensor(ranking, dtype=torch.long), torch.tensor(returns, dtype=torch.float32),
                           baseline_argument(baseline))
        value = as_scalar(prop, text, got, "loss", tensor=True, hints=SCALAR_HINTS)
        expected = expected_loss(scores, ranking, returns, baseline)
        if abs(value - expected) > TOL * (1 + abs(expected)):
            fail(prop, text, f"{expected:.6g}", f"{value:.6g}", "weight each position's log-probability by its "
                 "own return-to-go minus the baseline, sum (not mean) over positions, and put a minus sign in "
                 "front (we minimise the loss to ascend the return); use the given baseline, nothing else")
        if not had_grad_fn(got):
            fail(prop, text, "a loss attached to the graph of the scores", "a tensor without grad_fn",
                 "compute the loss with torch operations on `scores`")

    examples = (([1.0, -0.5, 0.25], [2], [1.5], 0.5), ([0.0, 1.0, 2.0, -1.0], [3, 1, 0], [2.0, 1.0, -0.5], None),
                ([0.5, 0.5, -1.0], [0, 1, 2], [1.0, 1.0, 1.0], [0.25, -0.5, 1.0]))
    for_all(loss_case(), body, max_examples=100, examples=examples)
    return f"{100 + len(examples)} examples"


def scorer_vehicle(prop: str, LinearScorer: Any, n_features: int) -> Any:
    """The student's LinearScorer carries the gradient of the loss (the scores must come from a module)."""
    text = f"LinearScorer({n_features}) (this check uses it to carry the loss's gradient)"
    scorer = call_student(prop, text, LinearScorer, n_features)
    probe = call_student(prop, text, scorer, torch.zeros(3, n_features))
    if not isinstance(probe, torch.Tensor) or tuple(probe.shape) != (3,) or not had_grad_fn(probe):
        fail(prop, text, "scores of shape (3,) attached to a graph", show(probe),
             "fix LinearScorer first (see the check `scorers`)")
    return scorer


def parameters_of(prop: str, text: str, scorer: Any) -> dict:
    grads = call_student(prop, text, gradients, scorer)
    state = call_method(prop, text, scorer, "state_dict")
    return {name: torch.as_tensor(state[name]).detach().clone() for name in grads}


def flat_gradient(grads: dict) -> np.ndarray:
    """Every parameter's gradient in one vector, parameters in name order (one without a gradient adds nothing)."""
    return np.concatenate([np.zeros(0) if g is None else np.asarray(g, dtype=float).ravel()
                           for _, g in sorted(grads.items())])


def loss_gradient(prop: str, text: str, scorer: Any, loss_fn: Callable, documents: torch.Tensor, ranking,
                  returns, baseline) -> tuple[np.ndarray, np.ndarray]:
    """(scores, flattened gradient of the student's loss w.r.t. the scorer's parameters)."""
    call_method(prop, text, scorer, "zero_grad")
    scores = call_student(prop, text, scorer, documents)
    loss = call_student(prop, text, loss_fn, scores, torch.tensor(ranking, dtype=torch.long),
                        torch.tensor(returns, dtype=torch.float32), baseline_argument(baseline))
    as_scalar(prop, text, loss, "loss", tensor=True, hints=SCALAR_HINTS)
    if not had_grad_fn(loss):
        fail(prop, text, "a loss attached to the graph of the scores", "a tensor without grad_fn",
             "compute the loss with torch operations on `scores`")
    call_method(prop, text, remote(loss), "backward")
    flat = flat_gradient(call_student(prop, text, gradients, scorer))
    return scores.detach().numpy().astype(np.float64), flat


@check("reinforce_gradient_sign")
def check_reinforce_gradient_sign(LinearScorer: Any, ranking_reinforce_loss: Callable) -> str:
    """With the same return G at every position, one gradient-descent step on the loss raises the ranking's
    probability when G > 0, lowers it when G < 0, and changes nothing when G = 0."""
    prop = ("a gradient-descent step on the loss raises the probability of a ranking whose return is positive "
            "and lowers it when the return is negative")
    rng = np.random.default_rng(3)
    n_checked = 0
    for n, k, d in ((5, 1, 3), (6, 3, 4), (8, 4, 2), (20, 10, 10)):
        documents = torch.tensor(rng.standard_normal((n, d)), dtype=torch.float32)
        ranking = [int(i) for i in rng.permutation(n)[:k]]
        for g in (2.0, -1.5, 0.0):
            scorer = scorer_vehicle(prop, LinearScorer, d)
            text = (f"LinearScorer({d}) on {n} documents, ranking={ranking}, returns=[{g}] * {k}, baseline=None, "
                    "one SGD step on the loss")
            scores, grad = loss_gradient(prop, text, scorer, ranking_reinforce_loss, documents, ranking,
                                         [g] * k, None)
            norm = float(np.linalg.norm(grad))
            if g == 0.0:
                if norm > 1e-6:
                    fail(prop, text, "a zero gradient (nothing to reinforce)", f"gradient norm {norm:.3g}",
                         "multiply every log-probability by its (return - baseline); with zero returns the "
                         "loss must not push the scores")
                continue
            if norm < 1e-8:
                fail(prop, text, "a nonzero gradient", "zero gradient", "the loss must depend on the scores "
                     "through log pi(a_t | s_t)")
            params = parameters_of(prop, text, scorer)
            grads = call_student(prop, text, gradients, scorer)
            step = 0.05 / norm
            new = {name: params[name] - step * torch.as_tensor(grads[name]).to(params[name].dtype)
                   for name in params if grads[name] is not None}
            call_method(prop, text, scorer, "load_state_dict", new, strict=False)
            after = call_student(prop, text, scorer, documents).detach().numpy().astype(np.float64)
            before_lp, after_lp = pl_log_prob(scores, ranking), pl_log_prob(after, ranking)
            if (after_lp - before_lp) * np.sign(g) <= 0:
                fail(prop, text, f"log P(ranking) {'up' if g > 0 else 'down'} from {before_lp:.5f}",
                     f"{after_lp:.5f}", "the loss is MINUS (return x log-probability): descending it ascends "
                     "the expected return")
            n_checked += 1
    return f"{n_checked} steps"


def expected_return_gradient(scores: np.ndarray, k: int, gains: np.ndarray) -> tuple[np.ndarray, list, np.ndarray]:
    """d/ds of E_PL[sum_t gain(a_t) / log2(t + 2)] by enumeration; also the rankings and their probabilities."""
    s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    rankings = top_k_rankings(len(scores), k)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    value = sum(torch.exp(pl_position_log_probs(s, r).sum()) * float(np.dot(gains[list(r)], discount))
                for r in rankings)
    value.backward()
    probs = np.array([math.exp(pl_log_prob(scores, r)) for r in rankings])
    return s.grad.numpy(), rankings, probs


@check("baseline_unbiased")
def check_baseline_unbiased(LinearScorer: Any, ranking_reinforce_loss: Callable) -> str:
    """Enumerating all rankings: E[grad loss] = -grad E[return] (policy gradient theorem) without a baseline, and
    unchanged by a baseline that does not depend on the sampled ranking (a float or one value per position)."""
    prop = ("the expected gradient of the loss over all rankings equals minus the gradient of the expected return, "
            "with or without a baseline that does not depend on the sampled ranking")
    rng = np.random.default_rng(8)
    for n, k, labels in ((4, 2, [2, 0, 1, 3]), (3, 3, [0, 4, 1])):
        d = 3
        documents = torch.tensor(rng.standard_normal((n, d)), dtype=torch.float32)
        gains = np.exp2(np.asarray(labels, dtype=float)) - 1.0
        scorer = scorer_vehicle(prop, LinearScorer, d)
        base_text = (f"LinearScorer({d}) on {n} documents with relevance {labels}, k={k}, rewards r_t = "
                     "(2^rel - 1) / log2(t + 2), returns = rewards-to-go")
        # minus the exact gradient of the expected return, pulled back to the scorer's parameters
        call_method(prop, base_text, scorer, "zero_grad")
        scores_t = call_student(prop, base_text, scorer, documents)
        scores = scores_t.detach().numpy().astype(np.float64)
        ds, rankings, probs = expected_return_gradient(scores, k, gains)
        call_method(prop, base_text, remote(scores_t), "backward", torch.tensor(-ds).to(scores_t.dtype))
        true = flat_gradient(call_student(prop, base_text, gradients, scorer))
        discount = 1.0 / np.log2(np.arange(2, k + 2))
        for baseline in (None, 0.8, [1.5, -0.5, 0.25][:k]):
            expected_grad = np.zeros_like(true)
            for ranking, p in zip(rankings, probs, strict=True):
                returns = rewards_to_go(gains[list(ranking)] * discount, 1.0).tolist()
                text = f"{base_text}, ranking={list(ranking)}, baseline={baseline}"
                _, grad = loss_gradient(prop, text, scorer, ranking_reinforce_loss, documents, list(ranking),
                                        returns, baseline)
                if grad.shape != true.shape:
                    fail(prop, text, "gradients for every parameter", "missing gradients",
                         "the loss must depend on the scores")
                expected_grad += p * grad
            scale = max(1e-6, float(np.linalg.norm(true)))
            if np.linalg.norm(expected_grad - true) > 2e-3 * scale:
                fail(prop, f"{base_text}, baseline={baseline}, all {len(rankings)} rankings weighted by their "
                     "probability", f"E[grad loss] = -grad E[return] = {show(true)}",
                     f"{show(expected_grad)}", "weight log pi(a_t | s_t) by (G_t - b_t) where b_t is the GIVEN "
                     "baseline; never subtract statistics of the sampled ranking's own returns (their mean), "
                     "and keep the minus sign")
    return "2 enumerations x 3 baselines"


# ---------------------------------------------------------------------------------------------------------
# evaluate_ranker
# ---------------------------------------------------------------------------------------------------------
@check("evaluate_ranker")
def check_evaluate_ranker(evaluate_ranker: Callable) -> str:
    """Ranking every query by descending score, the mean NDCG@k matches ``rlir.ir_metrics`` (a query without
    relevant documents counts 0)."""
    prop = "evaluate_ranker returns the mean NDCG@k of the rankings by DESCENDING score"
    _, test = make_splits()
    rng = np.random.default_rng(21)
    features, labels = test.features[:40].copy(), test.labels[:40].copy()
    labels[3] = 0  # a query without relevant documents
    cases = [(rng.standard_normal(test.n_features), 10), (rng.standard_normal(test.n_features), 1),
             (test.w_star, 5), (-test.w_star, 10)]
    for weights, k in cases:
        text = (f"scorer: documents @ w with w={show(np.round(weights, 3))}, queries=(features, labels) of the "
                f"first 40 test queries (query 3 without relevant documents), k={k}")
        scorer = as_argument(evaluate_ranker, Fixture(SCORER_FACTORY, (np.asarray(weights, dtype=float),)))
        got = call_student(prop, text, evaluate_ranker, scorer, (features, labels), k)
        value = as_scalar(prop, text, got, "the mean NDCG@k")
        expected = float(ndcg_of_scores(features.astype(np.float64) @ weights, labels, k).mean())
        if abs(value - expected) > 1e-6:
            fail(prop, text, f"{expected:.6f}", f"{value:.6f}", "sort by descending score (the best document "
                 "first), keep the top k, and divide DCG@k by the IDCG@k of ALL the query's documents")
    weights = test.w_star
    text = "the oracle scorer (documents @ w*) on all 300 test queries, k=10"
    scorer = as_argument(evaluate_ranker, Fixture(SCORER_FACTORY, (np.asarray(weights, dtype=float),)))
    value = call_student(prop, text, evaluate_ranker, scorer, (test.features, test.labels), 10)
    oracle = reference_scores(test)["oracle"]
    if abs(as_scalar(prop, text, value, "the mean NDCG@k") - oracle) > 1e-6:
        fail(prop, text, f"{oracle:.6f}", show(value), "average the per-query NDCG@k over all queries")
    return f"{len(cases) + 1} scorers"


# ---------------------------------------------------------------------------------------------------------
# train_ranker
# ---------------------------------------------------------------------------------------------------------
def run_training(prop: str, train_ranker: Callable, reward_mode: str, n_episodes: int, config: dict, seed: int,
                 timeout: float = TRAINING_TIMEOUT) -> tuple[Any, np.ndarray, str]:
    text = (f"train_ranker(gym.make({ENV_ID!r}, reward_mode={reward_mode!r}), n_episodes={n_episodes}, "
            f"config={config}, seed={seed})")
    env = gym.make(ENV_ID, reward_mode=reward_mode)
    result = call_student(prop, text, with_timeout(train_ranker, timeout), env, n_episodes, dict(config), seed)
    scorer, history = as_tuple(prop, text, result, ("scorer", "history"))
    if not isinstance(history, dict) or "returns" not in history:
        fail(prop, text, 'history as a dict with the key "returns"', show(history),
             'return {"returns": episode_returns, ...}')
    returns = as_array(prop, text, history["returns"], shape=(n_episodes,), what='history["returns"]')
    return scorer, returns, text


def held_out_ndcg(prop: str, text: str, scorer: Any, k: int = TOP_K) -> tuple[float, dict]:
    """Mean NDCG@k of the scorer's rankings on the 300 test queries, computed here (one call per query)."""
    train, test = make_splits()
    scores = []
    for q in range(test.n_queries):
        query_text = f"{text}; the returned scorer on test query {q}"
        with torch.no_grad():
            out = score_without_graph(prop, query_text, scorer, test.features[q])
        scores.append(out)
    return float(ndcg_of_scores(np.array(scores), test.labels, k).mean()), reference_scores((train, test), k)


def score_without_graph(prop: str, text: str, scorer: Any, documents: np.ndarray) -> np.ndarray:
    out = call_student(prop, text, scorer, torch.tensor(documents, dtype=torch.float32))
    return as_array(prop, text, out, shape=(documents.shape[0],), what="the scores", tensor=True, hints=HINTS)


@check("train_ranker_interface")
def check_train_ranker_interface(train_ranker: Callable) -> str:
    """(scorer, history) with one return per episode (an NDCG@10 in [0, 1] with label rewards), a usable
    scorer, and the same seed gives the same returns."""
    prop = ("train_ranker returns (scorer, history) with history['returns'] holding one return per episode, "
            "and is reproducible for a fixed seed")
    config = dict(LABELS_CONFIG)
    scorer, first, text = run_training(prop, train_ranker, "labels", 48, config, seed=3, timeout=60.0)
    if np.any(first < -1e-9) or np.any(first > 1 + 1e-9):
        fail(prop, text, "label-mode returns (NDCG@10 of the sampled rankings) in [0, 1]", show(first),
             "record the undiscounted sum of the rewards of each episode")
    score_without_graph(prop, text + "; the returned scorer on a query's (20, 10) features", scorer,
                        make_splits()[1].features[0])
    _, second, _ = run_training(prop, train_ranker, "labels", 48, config, seed=3, timeout=60.0)
    if not np.array_equal(first, second):
        fail(prop, text + ", run twice", "identical returns", "different returns", "seed everything from `seed`: "
             "torch.manual_seed(seed) before building the scorer, a torch.Generator seeded with seed for "
             "sample_ranking, env.reset(seed=seed) on the first episode")
    _, clicks, text = run_training(prop, train_ranker, "clicks", 16, config, seed=4, timeout=60.0)
    if np.any(clicks < -1e-9):
        fail(prop, text, "non-negative click returns", show(clicks), "sum the environment's rewards")
    return "48 + 48 + 16 episodes"


PROBE_QUERY = 0  # a training query with documents of every grade 0..4: different rankings, different NDCG
PROBE_EPISODES = 32
# Greedy rankings of a scorer that does change (a trainer that ignores config["lr"]) give one ranking per batch
# of 16 episodes; rankings drawn from one Plackett-Luce policy over 20 documents almost never repeat an NDCG.
PROBE_DISTINCT_AT_MOST = PROBE_EPISODES // LABELS_CONFIG["batch_size"] + 1


def check_training_samples(train_ranker: Callable) -> None:
    """REINFORCE trains on rankings drawn from its Plackett-Luce policy. With one query and lr = 0 the scorer
    never changes, so a sampling trainer plays many rankings (and NDCGs) of that query, and a trainer that
    ranks greedily by argsort plays one ranking 32 times. The learning checks alone cannot tell that bug from
    a correct solution: greedy training reaches 0.960 of the oracle with labels and 0.964 with clicks."""
    prop = ("train_ranker trains on rankings SAMPLED from its Plackett-Luce policy (REINFORCE), not on the greedy "
            "ranking of its current scores")
    config = {**LABELS_CONFIG, "lr": 0.0}
    text = (f"train_ranker(gym.make({ENV_ID!r}, reward_mode='labels', queries=[{PROBE_QUERY}]), "
            f"n_episodes={PROBE_EPISODES}, config={config}, seed=5): one query with documents of every grade, "
            "and a scorer that never changes")
    env = gym.make(ENV_ID, reward_mode="labels", queries=[PROBE_QUERY])
    result = call_student(prop, text, with_timeout(train_ranker, 60.0), env, PROBE_EPISODES, config, 5)
    _, history = as_tuple(prop, text, result, ("scorer", "history"))
    if not isinstance(history, dict) or "returns" not in history:
        fail(prop, text, 'history as a dict with the key "returns"', show(history),
             'return {"returns": episode_returns, ...}')
    returns = as_array(prop, text, history["returns"], shape=(PROBE_EPISODES,), what='history["returns"]')
    distinct = len(np.unique(np.round(returns, 9)))
    if distinct <= PROBE_DISTINCT_AT_MOST:
        got = (f"the same return {returns[0]:.6f} in all {PROBE_EPISODES} episodes" if distinct == 1 else
               f"only {distinct} different returns in {PROBE_EPISODES} episodes: {show(returns)}")
        fail(prop, text, "returns (NDCG@10 of the played rankings) that vary from episode to episode, as rankings "
             f"drawn from one fixed policy do (the solution's {PROBE_EPISODES} all differ)", got,
             "draw each training ranking with sample_ranking(scores, k, generator); a ranking by argsort never "
             "explores, and the gradient of its log-probability is not the policy gradient")


def learning_check(prop: str, train_ranker: Callable, mode: str, n_episodes: int, config: dict,
                   ratio: float) -> str:
    check_training_samples(train_ranker)
    scorer, returns, text = run_training(prop, train_ranker, mode, n_episodes, config, GRADING_SEED)
    ndcg, ref = held_out_ndcg(prop, text, scorer)
    learning_curve(returns, reference=ref["oracle"], reference_label="oracle NDCG@10 (held-out queries)")
    if ndcg > ref["oracle"] + 0.02:  # no function of the features beats the oracle by more than chance
        fail(prop, text, f"NDCG@10 on the held-out queries at most about the oracle's {ref['oracle']:.3f}",
             f"{ndcg:.3f}", "score documents from their features only; the relevance labels of the test queries "
             "must not be used")
    if ndcg < ratio * ref["oracle"]:
        fail(prop, text, f"NDCG@10 on the 300 held-out test queries >= {ratio} x oracle {ref['oracle']:.3f} = "
             f"{ratio * ref['oracle']:.3f}", f"{ndcg:.3f} (random ranker {ref['random']:.3f}, best single "
             f"feature {ref['best_single_feature']:.3f}; mean training return of the last 200 episodes "
             f"{returns[-200:].mean():.3f})",
             "sample each ranking with sample_ranking, weight every position by its return-to-go minus the "
             "baseline, average the loss over config['batch_size'] episodes per Adam step with config['lr']")
    return f"NDCG@10 {ndcg:.3f} = {ndcg / ref['oracle']:.3f} x oracle {ref['oracle']:.3f}"


@check("learns_from_labels")
def check_learns_from_labels(train_ranker: Callable) -> str:
    """With label rewards, the greedy ranker reaches >= 0.95 of the oracle's NDCG@10 on held-out queries.

    Margins on the grading seed (benchmarks/learning_margins.py): the instructor solution reaches 0.996 of the
    oracle (+0.046); a scorer that looks the test labels up reaches 1.097, past the upper bound (oracle +
    0.02, i.e. 1.022). Training on greedy (argsort) rankings instead of sampled ones reaches 0.960 (+0.010),
    which no threshold separates from a correct solution: :func:`check_training_samples` fails it first."""
    prop = (f"with label rewards, after {LABELS_EPISODES} episodes ranking by the learned scores reaches >= "
            f"{LABELS_RATIO} of the oracle scorer's NDCG@10 on held-out queries")
    return learning_check(prop, train_ranker, "labels", LABELS_EPISODES, LABELS_CONFIG, LABELS_RATIO)


@check("learns_from_clicks")
def check_learns_from_clicks(train_ranker: Callable) -> str:
    """With simulated clicks, the greedy ranker reaches >= 0.90 of the oracle's NDCG@10 on held-out queries.

    Margins on the grading seed (benchmarks/learning_margins.py): the instructor solution reaches 0.957 of the
    oracle (+0.057); the test-label lookup 1.097, past the upper bound 1.022. Training on greedy (argsort)
    rankings reaches 0.964 (+0.064, above the solution), which no threshold separates: it fails
    :func:`check_training_samples` first."""
    prop = (f"with click rewards, after {CLICKS_EPISODES} episodes ranking by the learned scores reaches >= "
            f"{CLICKS_RATIO} of the oracle scorer's NDCG@10 on held-out queries")
    return learning_check(prop, train_ranker, "clicks", CLICKS_EPISODES, CLICKS_CONFIG, CLICKS_RATIO)
