"""Checks for assignment 7, learning from logs: off-policy evaluation, counterfactual learning to rank from
clicks, behaviour cloning and LinUCB.

The estimators are judged by what their definitions promise, computed here by **enumeration**: on small
random problems every log of two rounds (or every click pattern) is listed with its probability, and the
exact expectation (or variance) of the student's estimate is compared with the true value of the target
policy. Expected values are written in matrix form (one-hot masks, ``einsum``, ``np.linalg.solve``), never as
the answer cells compute them. The learning checks run on the course's environments with fixed seeds and
compare with known optima: the oracle scorer's NDCG@10, the logging policy's exact value, the regret of
ε-greedy and of random recommendations on the same users.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from hypothesis import strategies as st

import rlir.envs  # noqa: F401  (registers rlir/ContextualRecommendation-v0)
from autograder.assignments.reinforce_for_ir import held_out_ndcg
from autograder.toolkit.checks import check, learning_curve
from autograder.toolkit.framework import (
    Hints,
    as_array,
    as_number,
    as_scalar,
    as_tuple,
    call_student,
    fail,
    for_all,
    show,
    with_timeout,
)
from rlir.envs.click_model import examination_probabilities, simulate_clicks
from rlir.envs.ranking import make_splits

FOLDER = "07_learning_from_logs"  # under source/ and release/ (the assignment's id is this module's name)
# The public contract: what students define, with these exact names and signatures.
CONTRACT = ("importance_weights", "ips_estimate", "snips_estimate", "clipped_ips_estimate", "dm_estimate",
            "dr_estimate", "debiased_relevance", "train_click_ranker", "behaviour_cloning", "linucb_select",
            "linucb_update", "train_linucb")
# A training run another graded cell already made with the same arguments is shared, not repeated.
SHARED_RUNS = ("train_click_ranker", "behaviour_cloning", "train_linucb")

ENV_ID = "rlir/ContextualRecommendation-v0"
GRADING_SEED = 20210711
# Relative tolerance of every comparison of an estimate (or of its exact expectation): a float32 solution
# (about 6e-8 per operation) or any order of summation stays far inside it; every mistake of the corpus
# misses by more than 1e-2.
RTOL = 1e-5
# Counterfactual learning to rank
CLICK_SESSIONS = 20_000
RANKER_CONFIG = {"lr": 0.05, "epochs": 200}
# of the oracle scorer's held-out NDCG@10. Measured on the grading seed and seeds 0-4 (Adam as in the notebook,
# and least squares in closed form): debiased targets 0.997-1.001 x, naive click-through rates 0.944-0.950 x.
RANKER_RATIO = 0.97
# Behaviour cloning
BC_ROUNDS = 5000
BC_CONFIG = {"lr": 0.1, "epochs": 200}
BC_VALUE_MARGIN = 0.01  # |V(cloned) - V(logging)|, exact values (the reference: 0.003)
BC_MAX_TV = 0.1  # mean total variation distance to the logging policy over users (the reference: 0.05)
# LinUCB
LINUCB_ROUNDS = 3000
LINUCB_ALPHA = 1.0  # the run whose regret is judged
LINUCB_ALPHAS = (LINUCB_ALPHA, 0.25)  # the runs whose every choice is checked against the bounds of that alpha
UCB_RTOL = 1e-4  # a choice within this (relative) of the largest bound counts as largest: float32 statistics
EPSILON = 0.1  # the ε-greedy baseline: the same ridge estimates, a random item with probability ε
TRAINING_TIMEOUT = 120.0


# ---------------------------------------------------------------------------------------------------------
# Small off-policy problems, and the logs they can produce
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """Users c with probability rho[c]; logging and target policies (C, K); expected rewards mu (C, K); a
    reward model q (C, K) that may be wrong."""

    rho: np.ndarray
    logging: np.ndarray
    target: np.ndarray
    mu: np.ndarray
    model: np.ndarray

    @property
    def value(self) -> float:
        """The target policy's true value, sum_c rho_c sum_a pi(a|c) mu(c, a)."""
        return float(np.einsum("c,ca,ca->", self.rho, self.target, self.mu))

    def text(self) -> str:
        return (f"users with probabilities rho={show(self.rho)}, logging policy pi_0[c, a]={show(self.logging)}, "
                f"target policy pi[c, a]={show(self.target)}, expected rewards mu[c, a]={show(self.mu)}")


def _rows(draw, n_rows: int, n_cols: int, low: int) -> np.ndarray:
    counts = np.array([[draw(st.integers(low, 6)) for _ in range(n_cols)] for _ in range(n_rows)], dtype=float)
    for row in counts:  # a policy row needs some mass
        if row.sum() == 0:
            row[draw(st.integers(0, n_cols - 1))] = 1.0
    return counts / counts.sum(axis=1, keepdims=True)


@st.composite
def problems(draw, max_contexts: int = 2, max_items: int = 3) -> Problem:
    n_contexts = draw(st.integers(1, max_contexts))
    n_items = draw(st.integers(2, max_items))
    rho = _rows(draw, 1, n_contexts, 1)[0]
    grid = st.integers(0, 10).map(lambda i: i / 10)
    mu = np.array([[draw(grid) for _ in range(n_items)] for _ in range(n_contexts)])
    model = np.array([[draw(grid) for _ in range(n_items)] for _ in range(n_contexts)])
    return Problem(rho, _rows(draw, n_contexts, n_items, 1), _rows(draw, n_contexts, n_items, 0), mu, model)


FIRST_USER_ID = 3  # user c of a small problem has the id 3 + c in its logs: ids are not the rounds' rows


def make_log(problem: Problem, rounds: list[tuple[int, int]], rewards: list[float]) -> dict[str, np.ndarray]:
    """The log of the given (user, item) rounds: ids FIRST_USER_ID + user, features the users' one-hot vectors."""
    contexts = np.array([c for c, _ in rounds], dtype=np.int64)
    actions = np.array([a for _, a in rounds], dtype=np.int64)
    return {"context": FIRST_USER_ID + contexts, "features": np.eye(len(problem.rho))[contexts], "action": actions,
            "propensity": problem.logging[contexts, actions], "reward": np.asarray(rewards, dtype=float)}


def logs_of_two_rounds(problem: Problem) -> Iterator[tuple[float, dict, tuple]]:
    """Every log of two i.i.d. logged rounds with its probability; the rewards are their expected values
    mu(c, a) (each estimator is linear in each reward, so this gives the exact expectation)."""
    pairs = [(c, a) for c in range(len(problem.rho)) for a in range(problem.logging.shape[1])]
    for first, second in itertools.product(pairs, repeat=2):
        p = np.prod([problem.rho[c] * problem.logging[c, a] for c, a in (first, second)])
        if p > 0:
            rounds = [first, second]
            yield float(p), make_log(problem, rounds, [problem.mu[c, a] for c, a in rounds]), rounds


def logs_of_one_round(problem: Problem) -> Iterator[tuple[float, dict]]:
    """Every one-round log with a Bernoulli(mu) reward, with its probability (for exact variances)."""
    for c, a, r in itertools.product(range(len(problem.rho)), range(problem.logging.shape[1]), (0.0, 1.0)):
        p = problem.rho[c] * problem.logging[c, a] * (problem.mu[c, a] if r else 1.0 - problem.mu[c, a])
        if p > 0:
            yield float(p), make_log(problem, [(c, a)], [r])


def per_round(table: np.ndarray, log: dict) -> np.ndarray:
    """A (C, K) table repeated for the users of the log's rounds: (n, K)."""
    return table[log["context"] - FIRST_USER_ID]


# What a failure of as_scalar advises about an estimate: one float for the whole log.
HINTS = Hints(type="return a float", size="average over the rounds of the log to return a single float")


def estimate(prop: str, text: str, estimator: Callable, log: dict, problem: Problem, *extra: Any,
             model: bool = False) -> float:
    args = (log, per_round(problem.target, log)) + ((per_round(problem.model, log),) if model else ()) + extra
    return as_scalar(prop, text, call_student(prop, text, estimator, *args), "the estimate", hints=HINTS)


def agrees(got: float, expected: float, scale: float = 1.0) -> bool:
    """|got - expected| <= RTOL x the larger of |expected| and ``scale`` (the size of the terms averaged:
    1 for rewards in [0, 1]), so that values near 0 are compared on the scale of their terms."""
    return abs(got - expected) <= RTOL * max(abs(expected), scale)


def digits(value: float) -> str:
    """A number with enough digits to show a difference RTOL can see."""
    return f"{value:.10g}"


def log_text(log: dict) -> str:
    return ", ".join(f"{key}={show(np.round(log[key], 4).tolist())}" for key in ("context", "action",
                                                                                   "propensity", "reward"))


def user_ids(rng: np.random.Generator, n: int, n_users: int) -> np.ndarray:
    """The users of n rounds, drawn from ids 0..n_users-1 and never all equal to the round numbers (code that
    picks rows by user id instead of by round then picks wrong rows, or ids beyond the last row)."""
    while True:
        users = rng.integers(n_users, size=n)
        if not np.array_equal(users, np.arange(n)):
            return users


def random_log(rng: np.random.Generator, n: int, n_items: int, reward_kind: str = "binary",
               target_kind: str = "random") -> tuple[dict, np.ndarray]:
    """A log of n rounds of users drawn from a population of n + 3 (a user's id is not its round), with every
    documented field; logging and target policies are per user. Returns (log, the target table (n, K) for the
    log's rounds)."""
    n_users = n + 3
    logging = rng.dirichlet(np.ones(n_items), size=n_users) * 0.9 + 0.1 / n_items
    if target_kind == "deterministic":
        policy = np.eye(n_items)[rng.integers(n_items, size=n_users)]
    else:
        policy = rng.dirichlet(np.ones(n_items) * 0.5, size=n_users)
    users = user_ids(rng, n, n_users)
    actions = np.array([rng.choice(n_items, p=logging[u]) for u in users])
    rewards = rng.integers(0, 2, size=n).astype(float) if reward_kind == "binary" else rng.random(n).round(3)
    log = {"context": users, "features": rng.random((n_users, 3))[users], "action": actions,
           "propensity": logging[users, actions], "reward": rewards}
    return log, policy[users]


def exact_weights(log: dict, target_probs: np.ndarray) -> np.ndarray:
    """pi(a_i | x_i) / pi_0(a_i | x_i) through a one-hot mask of the logged actions."""
    mask = np.eye(target_probs.shape[1])[log["action"]]
    return (mask * target_probs).sum(axis=1) / log["propensity"]


# ---------------------------------------------------------------------------------------------------------
# importance_weights and IPS
# ---------------------------------------------------------------------------------------------------------
@check("importance_weights")
def check_importance_weights(importance_weights: Callable) -> str:
    """w_i = pi(a_i | x_i) / pi_0(a_i | x_i): the target's probability of the LOGGED action over its propensity."""
    prop = "importance_weights returns w_i = pi(a_i | x_i) / pi_0(a_i | x_i) for every logged round i"
    rng = np.random.default_rng(1)
    for n, k, kind in ((1, 2, "random"), (7, 3, "random"), (12, 5, "deterministic"), (40, 10, "random")):
        log, target = random_log(rng, n, k, target_kind=kind)
        text = f"{log_text(log)}, target_probs[i, a]={show(target.round(4))}"
        got = call_student(prop, text, importance_weights, log, target)
        got = as_array(prop, text, got, shape=(n,), what="the weights")
        expected = exact_weights(log, target)
        if not np.allclose(got, expected, rtol=RTOL, atol=0.0):
            fail(prop, text, np.array2string(expected, precision=10), np.array2string(got, precision=10),
                 "take row i's probability of the action that was logged in round i "
                 "(target_probs[i, action[i]]), and divide by the logging propensity (not the other way round)")
    return "4 logs"


@check("ips_unbiased")
def check_ips_unbiased(ips_estimate: Callable) -> str:
    """Enumerating every log of two rounds: E[IPS] equals the target policy's true value; with the logging
    policy as target, IPS is the plain mean reward."""
    prop = ("IPS is unbiased: its expectation over the logging policy's actions equals the target policy's "
            "true value")

    def body(problem: Problem) -> None:
        expectation = 0.0
        for p, log, _ in logs_of_two_rounds(problem):
            expectation += p * estimate(prop, f"{problem.text()}; the log {log_text(log)}", ips_estimate, log,
                                        problem)
        if not agrees(expectation, problem.value):
            fail(prop, f"{problem.text()}; every log of 2 rounds weighted by its probability",
                 f"E[IPS] = V(pi) = {digits(problem.value)}", digits(expectation),
                 "average w_i * r_i over the rounds (a mean, not a sum), with w_i = pi(a_i|x_i) / pi_0(a_i|x_i)")

    for_all(problems(), body, max_examples=25)
    prop = "with the logging policy as target, every weight is 1 and IPS is the mean reward of the log"
    env = gym.make(ENV_ID).unwrapped
    log = env.collect_log(500, seed=3)
    target = env.logging_probs()[log["context"]]
    text = "500 rounds of rlir/ContextualRecommendation-v0's logging policy, target_probs = the logging policy"
    got = as_scalar(prop, text, call_student(prop, text, ips_estimate, log, target), "the estimate", hints=HINTS)
    if not agrees(got, log["reward"].mean()):
        fail(prop, text, f"mean reward {digits(log['reward'].mean())}", digits(got),
             "look the target probability up at the logged action of each round")
    return "25 problems enumerated, and the logging policy on a 500-round log"


# ---------------------------------------------------------------------------------------------------------
# SNIPS and clipped IPS
# ---------------------------------------------------------------------------------------------------------
@check("snips_properties")
def check_snips_properties(snips_estimate: Callable) -> str:
    """SNIPS is the weighted average of the rewards with the importance weights: invariant to scaling every
    propensity, within the range of the observed rewards."""
    prop = ("SNIPS = sum_i w_i r_i / sum_i w_i: the importance-weighted average of the observed rewards, "
            "unchanged when all propensities are multiplied by the same constant")
    rng = np.random.default_rng(2)
    cases = [(1, 2, "binary"), (5, 3, "fraction"), (20, 4, "binary"), (60, 10, "fraction"), (8, 3, "fraction")]
    for n, k, kind in cases:
        log, target = random_log(rng, n, k, reward_kind=kind)
        text = f"{log_text(log)}, target_probs[i, a]={show(target.round(4))}"
        got = as_scalar(prop, text, call_student(prop, text, snips_estimate, log, target), "the estimate", hints=HINTS)
        expected = float(np.average(log["reward"], weights=exact_weights(log, target)))
        if not agrees(got, expected):
            fail(prop, text, digits(expected), digits(got), "divide the sum of w_i r_i by the sum of the "
                 "weights w_i (self-normalisation), not by the number of rounds")
        low, high = log["reward"].min(), log["reward"].max()
        if not (low - RTOL * max(abs(low), 1.0) <= got <= high + RTOL * max(abs(high), 1.0)):
            fail(prop, text, f"a value in the range of the observed rewards [{low}, {high}]", digits(got),
                 "a weighted average of the rewards never leaves their range")
        for scale in (0.25, 8.0):
            scaled = dict(log, propensity=log["propensity"] * scale)
            scaled_text = text + f", every propensity multiplied by {scale}"
            again = as_scalar(prop, scaled_text, call_student(prop, scaled_text, snips_estimate, scaled, target),
                              "the estimate", hints=HINTS)
            if not agrees(again, got):
                fail(prop, scaled_text, f"the same estimate as before, {digits(got)}", digits(again),
                     "normalise by the sum of the weights: the common scale then cancels")
    return f"{len(cases)} logs, propensities scaled by 0.25 and 8"


@check("clipped_ips")
def check_clipped_ips(clipped_ips_estimate: Callable) -> str:
    """mean(min(w_i, M) r_i): never above IPS for non-negative rewards, IPS itself when M is at least the
    largest weight, and the weight (not the product w r) is what gets clipped."""
    prop = "clipped IPS = mean over rounds of min(w_i, max_weight) * r_i"
    rng = np.random.default_rng(4)
    n_cases = 0
    for n, k in ((1, 2), (6, 3), (30, 5), (80, 10)):
        log, target = random_log(rng, n, k, reward_kind="fraction")
        weights = exact_weights(log, target)
        ips = float(np.mean(weights * log["reward"]))
        for max_weight in (0.5, 1.0, 2.0, float(np.median(weights)), float(weights.max()) + 1.0, 1e9):
            text = f"{log_text(log)}, target_probs[i, a]={show(target.round(4))}, max_weight={max_weight:.4g}"
            got = as_scalar(prop, text, call_student(prop, text, clipped_ips_estimate, log, target, max_weight),
                            "the estimate", hints=HINTS)
            expected = float(np.mean(np.where(weights > max_weight, max_weight, weights) * log["reward"]))
            if got > ips and not agrees(got, ips):
                fail(prop, text, f"at most the unclipped IPS estimate {digits(ips)} (rewards are >= 0)", digits(got),
                     "clipping can only lower a weight: use min(w, max_weight)")
            if not agrees(got, expected):
                fail(prop, text, digits(expected), digits(got), "clip each WEIGHT at max_weight, then multiply "
                     "by the reward (clipping the product w * r is another estimator) and average over rounds")
            n_cases += 1
    return f"{n_cases} (log, max_weight) pairs"


# ---------------------------------------------------------------------------------------------------------
# The direct method and doubly robust
# ---------------------------------------------------------------------------------------------------------
@check("direct_method")
def check_direct_method(dm_estimate: Callable) -> str:
    """DM = mean over the logged users of sum_a pi(a|x_i) q(x_i, a): it ignores the logged actions and rewards,
    and with the exact reward model its expectation is the true value."""
    prop = ("the direct method averages, over the logged users, the target policy's expected reward under the "
            "reward model: mean_i sum_a pi(a | x_i) q(x_i, a)")
    rng = np.random.default_rng(6)
    for n, k in ((1, 2), (9, 3), (50, 10)):
        log, target = random_log(rng, n, k)
        model = rng.random((n, k)).round(3)
        text = f"{log_text(log)}, target_probs={show(target.round(4))}, reward_model={show(model)}"
        got = as_scalar(prop, text, call_student(prop, text, dm_estimate, log, target, model), "the estimate",
                        hints=HINTS)
        expected = float(np.einsum("ia,ia->", target, model) / n)
        if not agrees(got, expected):
            fail(prop, text, digits(expected), digits(got), "for each round sum pi(a|x_i) * q(x_i, a) over ALL "
                 "items a (not only the logged one), then average over the rounds")
        shuffled = dict(log, action=rng.permutation(log["action"]), reward=1.0 - log["reward"])
        again = as_scalar(prop, text + ", other actions and rewards",
                          call_student(prop, text, dm_estimate, shuffled, target, model), "the estimate", hints=HINTS)
        if not agrees(again, got):
            fail(prop, text + ", logged actions and rewards changed", f"the same estimate {digits(got)}",
                 digits(again), "the direct method uses only the users and the reward model")

    def body(problem: Problem) -> None:
        exact = Problem(problem.rho, problem.logging, problem.target, problem.mu, problem.mu)
        expectation = sum(p * estimate(prop, exact.text(), dm_estimate, log, exact, model=True)
                          for p, log, _ in logs_of_two_rounds(exact))
        if not agrees(expectation, exact.value):
            fail(prop, f"{exact.text()}, reward_model = mu (exact); every 2-round log", digits(exact.value),
                 digits(expectation), "weight the model's rewards by the target policy's probabilities")

    for_all(problems(), body, max_examples=10)
    return "3 logs, 10 problems enumerated"


@check("doubly_robust_unbiased")
def check_doubly_robust_unbiased(dr_estimate: Callable) -> str:
    """With the right propensities and a WRONG reward model, E[DR] over every two-round log is the true value."""
    prop = ("doubly robust is unbiased when the propensities are right, whatever the reward model: "
            "E[DR] = V(pi)")

    def body(problem: Problem) -> None:
        expectation = 0.0
        for p, log, _ in logs_of_two_rounds(problem):
            text = f"{problem.text()}, reward model q[c, a]={show(problem.model)}; the log {log_text(log)}"
            expectation += p * estimate(prop, text, dr_estimate, log, problem, model=True)
        if not agrees(expectation, problem.value):
            fail(prop, f"{problem.text()}, reward model q[c, a]={show(problem.model)} (wrong); every 2-round "
                 "log weighted by its probability", f"E[DR] = V(pi) = {digits(problem.value)}", digits(expectation),
                 "DR = DM + mean_i w_i (r_i - q(x_i, a_i)): ADD the importance-weighted residual of the reward "
                 "model at the LOGGED action")

    for_all(problems(), body, max_examples=25)
    return "25 problems, every 2-round log enumerated"


@check("doubly_robust_variance")
def check_doubly_robust_variance(dr_estimate: Callable) -> str:
    """With the exact reward model, DR has the direct method's expectation and no larger variance than IPS
    (exact variances over every one-round log with a Bernoulli reward)."""
    prop = ("with the exact reward model, DR's expectation is the direct method's (the true value) and its "
            "variance is at most IPS's")

    def body(problem: Problem) -> None:
        exact = Problem(problem.rho, problem.logging, problem.target, problem.mu, problem.mu)
        values, probs, ips_values = [], [], []
        for p, log in logs_of_one_round(exact):
            text = f"{exact.text()}, reward_model = mu; the log {log_text(log)}"
            values.append(estimate(prop, text, dr_estimate, log, exact, model=True))
            probs.append(p)
            ips_values.append(float(exact_weights(log, per_round(exact.target, log))[0] * log["reward"][0]))
        probs, values, ips_values = np.array(probs), np.array(values), np.array(ips_values)
        mean = float(probs @ values)
        variance = float(probs @ (values - mean) ** 2)
        ips_variance = float(probs @ (ips_values - probs @ ips_values) ** 2)
        text = f"{exact.text()}, reward_model = mu (exact); every 1-round log with a 0/1 reward"
        if not agrees(mean, exact.value):
            fail(prop, text, f"E[DR] = E[DM] = {digits(exact.value)}", digits(mean), "DR = DM + mean of w_i (r_i - "
                 "q(x_i, a_i)); the correction has mean zero when q is exact")
        if variance > ips_variance and not agrees(variance, ips_variance):
            fail(prop, text, f"Var[DR] <= Var[IPS] = {digits(ips_variance)}", f"Var[DR] = {digits(variance)}",
                 "the correction term weights the RESIDUAL r - q(x, a), not the reward itself")

    for_all(problems(max_contexts=3, max_items=4), body, max_examples=25)
    return "25 problems, exact variances"


# ---------------------------------------------------------------------------------------------------------
# Counterfactual learning to rank from clicks
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClickProblem:
    attractiveness: np.ndarray  # (Q, N) P(click | examined)
    examination: np.ndarray  # (N,) P(examined) by position
    query: np.ndarray  # (S,) the query of each session
    ranking: np.ndarray  # (S, N) documents shown, best first

    def text(self) -> str:
        return (f"attractiveness[q, d]={show(self.attractiveness)}, examination by position="
                f"{show(self.examination)}, sessions: query={self.query.tolist()}, ranking={self.ranking.tolist()}")


@st.composite
def click_problems(draw) -> ClickProblem:
    """Small position-based click problems that exercise the estimator: the examination propensities are not all
    equal (else clicks are not biased), the first two sessions are on different queries when there are several
    (so a query's average is not the log's), some query may have no session, and some session does not show
    the documents in their id order (so a document's position is not its id)."""
    n_docs = draw(st.integers(2, 3))
    n_sessions = draw(st.integers(2, 3 if n_docs == 2 else 2))
    n_queries = draw(st.integers(1, 3))
    attract = np.array([[draw(st.integers(0, 4)) / 4 for _ in range(n_docs)] for _ in range(n_queries)])
    exam = np.sort([draw(st.integers(1, 10)) / 10 for _ in range(n_docs)])[::-1].copy()
    if exam[-1] == exam[0]:
        exam[-1] = exam[0] / 2
    query = np.array([draw(st.integers(0, n_queries - 1)) for _ in range(n_sessions)], dtype=np.int64)
    query[:2] = [0, min(1, n_queries - 1)]
    ranking = np.array([draw(st.permutations(list(range(n_docs)))) for _ in range(n_sessions)], dtype=np.int64)
    if np.all(ranking == np.arange(n_docs)):
        ranking[0, :2] = [1, 0]
    return ClickProblem(attract, exam, query, ranking)


def click_patterns(problem: ClickProblem) -> Iterator[tuple[float, np.ndarray]]:
    """Every click matrix (S, N) with its probability under the position-based model."""
    shown = np.take_along_axis(problem.attractiveness[problem.query], problem.ranking, axis=1)
    p_click = problem.examination[None, :] * shown
    for bits in itertools.product((0, 1), repeat=p_click.size):
        clicks = np.array(bits, dtype=np.int8).reshape(p_click.shape)
        p = float(np.prod(np.where(clicks == 1, p_click, 1.0 - p_click)))
        if p > 0:
            yield p, clicks


@check("debiased_relevance_unbiased")
def check_debiased_relevance_unbiased(debiased_relevance: Callable) -> str:
    """Enumerating every click pattern: the propensity-weighted estimates' expectation is the attractiveness of
    every document of every query with sessions (0 for queries without); the naive CTR's is not."""
    prop = ("under the position-based model, clicks / examination propensity averaged over a query's sessions "
            "are unbiased for each document's attractiveness")
    naive_bias = []

    def body(problem: ClickProblem) -> None:
        n_queries, n_docs = problem.attractiveness.shape
        expectation = np.zeros((n_queries, n_docs))
        for p, clicks in click_patterns(problem):
            click_log = {"query": problem.query, "ranking": problem.ranking, "clicks": clicks}
            text = f"{problem.text()}, clicks={clicks.tolist()}, n_queries={n_queries}, n_docs={n_docs}"
            got = call_student(prop, text, debiased_relevance, click_log, problem.examination, n_queries, n_docs)
            expectation += p * as_array(prop, text, got, shape=(n_queries, n_docs), what="the estimates")
        has_sessions = np.isin(np.arange(n_queries), problem.query)[:, None]
        expected = np.where(has_sessions, problem.attractiveness, 0.0)
        if not np.allclose(expectation, expected, rtol=RTOL, atol=RTOL):  # attractiveness in [0, 1]
            fail(prop, f"{problem.text()}; every click pattern weighted by its probability",
                 f"E[estimates] = {show(expected)}", show(expectation),
                 "divide each click by the examination propensity of the POSITION where the document was shown "
                 "(not by its rank number), and average over the sessions of that query only")
        # what the click-through rate would have estimated (for the message)
        positions = np.argsort(problem.ranking, axis=1)
        naive = np.zeros_like(expected)
        for q in range(n_queries):
            rows = problem.query == q
            if rows.any():
                naive[q] = (problem.examination[positions[rows]] * problem.attractiveness[q]).mean(axis=0)
        naive_bias.append(float(np.abs(naive - expected).max()))

    for_all(click_problems(), body, max_examples=20)
    return f"20 problems enumerated; the naive CTR would be off by up to {max(naive_bias):.2f}"


@check("click_ranker_learns")
def check_click_ranker_learns(debiased_relevance: Callable, train_click_ranker: Callable) -> str:
    """From 20,000 logged sessions of the production ranker, the ranker trained on the debiased estimates
    reaches >= 0.97 of the oracle scorer's NDCG@10 on the held-out queries. Margins, measured on the grading
    seed and seeds 0-4: debiased targets reach 0.997-1.001 x the oracle (>= 0.027 above the threshold), the
    naive click-through rates (the position bias 1/k left in) 0.944-0.950 x (>= 0.020 below it)."""
    prop = (f"a ranker trained on the propensity-weighted click estimates of {CLICK_SESSIONS} sessions reaches "
            f">= {RANKER_RATIO} x the oracle scorer's NDCG@10 on the 300 held-out queries")
    train, _ = make_splits()
    click_log = simulate_clicks(train, CLICK_SESSIONS, GRADING_SEED)
    exam = examination_probabilities(train.n_docs)
    text = (f"simulate_clicks(train, {CLICK_SESSIONS}, seed={GRADING_SEED}) (the production ranker's click log), "
            f"examination_probabilities(20), then train_click_ranker(train.features, estimates, "
            f"{RANKER_CONFIG}, seed={GRADING_SEED})")
    estimates = call_student(prop, text, debiased_relevance, click_log, exam, train.n_queries, train.n_docs)
    estimates = as_array(prop, text, estimates, shape=(train.n_queries, train.n_docs), what="the estimates")
    scorer = call_student(prop, text, with_timeout(train_click_ranker, TRAINING_TIMEOUT), train.features,
                          estimates, dict(RANKER_CONFIG), GRADING_SEED)
    ndcg, ref = held_out_ndcg(prop, text, scorer)
    if ndcg < RANKER_RATIO * ref["oracle"]:
        fail(prop, text, f"NDCG@10 >= {RANKER_RATIO} x oracle {ref['oracle']:.3f} = {RANKER_RATIO * ref['oracle']:.3f}",
             f"{ndcg:.3f} (random ranker {ref['random']:.3f}, the production ranker's feature alone "
             f"{ref['best_single_feature']:.3f})", "fit the scores of every (query, document) pair to the estimates "
             "(mean squared error over all pairs, scores of shape (N,) per query), with config['lr'] and "
             "config['epochs']")
    return f"NDCG@10 {ndcg:.3f} = {ndcg / ref['oracle']:.3f} x oracle {ref['oracle']:.3f}"


# ---------------------------------------------------------------------------------------------------------
# Behaviour cloning
# ---------------------------------------------------------------------------------------------------------
def policy_table(prop: str, text: str, policy: Any, contexts: np.ndarray, n_items: int) -> np.ndarray:
    """The cloned policy's action probabilities (C, K): softmax of its logits on every user's features."""
    with torch.no_grad():
        logits = call_student(prop, text + "; the returned policy on every user's features (C, d)", policy,
                              torch.tensor(contexts, dtype=torch.float32))
    logits = as_array(prop, text, logits, shape=(contexts.shape[0], n_items), what="the logits")
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@check("behaviour_cloning")
def check_behaviour_cloning(behaviour_cloning: Callable) -> str:
    """The policy cloned from 5,000 logged rounds acts like the logging policy: exact value within 0.01 of
    the logging policy's and mean total variation distance to it at most 0.1."""
    prop = (f"behaviour cloning from {BC_ROUNDS} logged rounds imitates the logging policy: its exact value is "
            f"within {BC_VALUE_MARGIN} of the logging policy's, its action distribution within total variation "
            f"{BC_MAX_TV}")
    env = gym.make(ENV_ID).unwrapped
    log = env.collect_log(BC_ROUNDS, GRADING_SEED)
    text = (f"log = env.unwrapped.collect_log({BC_ROUNDS}, seed={GRADING_SEED}) of {ENV_ID}, "
            f"behaviour_cloning(log, {env.n_items}, {BC_CONFIG}, seed={GRADING_SEED})")
    policy = call_student(prop, text, with_timeout(behaviour_cloning, TRAINING_TIMEOUT), log, env.n_items,
                          dict(BC_CONFIG), GRADING_SEED)
    probs = policy_table(prop, text, policy, env.contexts, env.n_items)
    logging = env.logging_probs()
    value, logging_value = env.policy_value(probs), env.policy_value(logging)
    tv = float(0.5 * np.abs(probs - logging).sum(axis=1).mean())
    if abs(value - logging_value) > BC_VALUE_MARGIN or tv > BC_MAX_TV:
        fail(prop, text, f"|V(cloned) - V(logging) = {logging_value:.4f}| <= {BC_VALUE_MARGIN} and mean TV <= "
             f"{BC_MAX_TV}", f"V(cloned) = {value:.4f}, mean TV {tv:.3f} (best possible value "
             f"{env.optimal_value():.4f})", "fit the logged ACTIONS from the features with the cross-entropy of a "
             "softmax policy (the logits for all items), on every round of the log")
    return f"V(cloned) {value:.4f} vs V(logging) {logging_value:.4f}, TV {tv:.3f}"


# ---------------------------------------------------------------------------------------------------------
# LinUCB
# ---------------------------------------------------------------------------------------------------------
def best_arms(ucb: np.ndarray) -> np.ndarray:
    """The arms whose bound is the largest, up to RTOL (a float32 solution or another solver may swap near-ties)."""
    return np.flatnonzero(ucb >= ucb.max() - RTOL * max(1.0, float(np.abs(ucb).max())))


def upper_confidence_bounds(A: np.ndarray, b: np.ndarray, x: np.ndarray, alpha: float) -> np.ndarray:
    """x . theta_a + alpha sqrt(x^T A_a^-1 x) for every arm, with linear solves instead of inverses."""
    theta = np.linalg.solve(A, b[..., None])[..., 0]
    spread = np.linalg.solve(A, np.broadcast_to(x, b.shape)[..., None])[..., 0]
    return theta @ x + alpha * np.sqrt(np.maximum(spread @ x, 0.0))


@st.composite
def linucb_states(draw):
    """(A, b, x, alpha) of LinUCB after a few rounds: d >= 2 (so the width's direction matters), every arm seen
    at least once (arms differ), x != 0 (x = 0 ties every arm), alpha > 0 but for a fifth of the states (the
    width counts); alpha = 0.5 and 3 tell alpha * width apart from sqrt(alpha * width^2) and alpha * estimate."""
    d = draw(st.integers(2, 4))
    n_arms = draw(st.integers(2, 5))
    grid = st.integers(-4, 4).map(lambda i: i / 2)
    A, b = np.zeros((n_arms, d, d)), np.zeros((n_arms, d))
    for arm in range(n_arms):
        A[arm] = np.eye(d) * draw(st.sampled_from([1.0, 0.5, 2.0]))
        for _ in range(draw(st.integers(1, 6))):
            v = np.array([draw(grid) for _ in range(d)])
            A[arm] += np.outer(v, v)
            b[arm] += draw(st.integers(0, 1)) * v
    x = np.array([draw(grid) for _ in range(d)])
    if not x.any():
        x[draw(st.integers(0, d - 1))] = draw(st.sampled_from([1.0, -0.5, 2.0]))
    alpha = draw(st.sampled_from([0.5, 3.0, 1.0, 2.0, 0.0]))
    return A, b, x, alpha


# Hand-picked states, each with one best arm that a mistaken formula misses (named beside it): checked
# before the generated ones.
LINUCB_EXAMPLES = (
    (np.array([[[2.5, 1.5], [1.5, 3.0]], [[3.0, 0.5], [0.5, 1.25]], [[2.0, 0.5], [0.5, 2.25]]]),  # width x^T A x,
     np.array([[-1.0, -1.0], [2.0, 0.5], [0.0, 0.0]]), np.array([-0.5, 1.0]), 2.0),  # theta = b, alpha misplaced
    (np.array([[[3.25, -1.5], [-1.5, 3.0]], [[1.25, 0.0], [0.0, 1.0]], [[2.0, 1.0], [1.0, 2.0]]]),  # no root
     np.array([[1.5, 0.0], [0.0, 0.0], [1.0, 1.0]]), np.array([0.5, 1.0]), 2.0),
    (np.array([[[3.0, -1.5], [-1.5, 2.5]], [[1.0, 0.0], [0.0, 1.0]], [[1.5, -1.0], [-1.0, 4.0]]]),  # alpha on
     np.array([[1.0, -1.0], [0.0, 0.0], [1.0, -3.0]]), np.array([0.5, -0.5]), 0.5),  # the estimate (alpha < 1)
    (np.array([[[2.25, 0.0], [0.0, 2.25]], [[1.0, 0.0], [0.0, 1.0]], [[2.25, 0.5], [0.5, 3.0]]]),  # alpha in the
     np.array([[0.5, -1.5], [0.0, 0.0], [-1.5, 0.0]]), np.array([1.0, -1.0]), 2.0),  # root (alpha > 1)
)


@check("linucb_select")
def check_linucb_select(linucb_select: Callable) -> str:
    """The chosen arm maximises x . theta_a + alpha sqrt(x^T A_a^-1 x) with theta_a = A_a^-1 b_a (any of the
    maximisers when several tie)."""
    prop = ("linucb_select returns an arm with the largest upper confidence bound x . theta_a + alpha * "
            "sqrt(x^T A_a^-1 x), theta_a = A_a^-1 b_a")

    def body(state) -> None:
        A, b, x, alpha = state
        text = f"A={show(A)}, b={show(b)}, x={show(x)}, alpha={alpha}"
        got = as_number(prop, text, call_student(prop, text, linucb_select, A.copy(), b.copy(), x.copy(), alpha),
                        what="an arm index (int)", integer=True, hint="return int(np.argmax(...))")
        ucb = upper_confidence_bounds(A, b, x, alpha)
        best = best_arms(ucb)
        if got not in best:
            fail(prop, text, f"an arm in {best.tolist()} (upper confidence bounds {show(ucb)})",
                 f"{int(got)}" + (f" (its bound {digits(ucb[int(got)])})" if 0 <= got < len(ucb) else ""),
                 "theta_a solves A_a theta = b_a; the width uses the INVERSE of A_a: sqrt(x @ inv(A_a) @ x), "
                 "times alpha; take the argmax")

    for state in LINUCB_EXAMPLES:
        body(state)
    for_all(linucb_states(), body, max_examples=100)
    return f"{len(LINUCB_EXAMPLES)} chosen and 100 generated states"


@check("linucb_update")
def check_linucb_update(linucb_update: Callable) -> str:
    """The chosen arm's A gains x x^T and its b gains r x; every other arm is unchanged."""
    prop = "linucb_update adds x x^T to A[action] and reward * x to b[action], and changes no other arm"

    def body(case) -> None:
        (A, b, x, _), action, reward = case
        action = action % len(A)
        text = f"A={show(A)}, b={show(b)}, x={show(x)}, action={action}, reward={reward}"
        result = call_student(prop, text, linucb_update, A.copy(), b.copy(), x.copy(), action, reward)
        result = as_tuple(prop, text, result, ("A", "b"))
        new_A = as_array(prop, text, result[0], shape=A.shape, what="A")
        new_b = as_array(prop, text, result[1], shape=b.shape, what="b")
        expected_A, expected_b = A.copy(), b.copy()
        expected_A[action] = A[action] + x[:, None] * x[None, :]
        expected_b[action] = b[action] + reward * x
        if not (np.allclose(new_A, expected_A, rtol=RTOL, atol=RTOL) and
                np.allclose(new_b, expected_b, rtol=RTOL, atol=RTOL)):
            fail(prop, text, f"A={show(expected_A)}, b={show(expected_b)}", f"A={show(new_A)}, b={show(new_b)}",
                 "update only the arm that was played, with the outer product np.outer(x, x) and reward * x")

    for_all(st.tuples(linucb_states(), st.integers(0, 4), st.sampled_from([0.0, 1.0, 0.5])), body,
            max_examples=40)
    return "40 updates"


def replay(actions: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(contexts, rewards) the env gives when ``actions`` are played after ``reset(seed=seed)``, one
    reset and one step per round."""
    env = gym.make(ENV_ID)
    contexts, rewards = [], []
    for t, action in enumerate(actions):
        _, info = env.reset(seed=seed if t == 0 else None)
        contexts.append(info["context"])
        rewards.append(env.step(int(action))[1])
    return np.array(contexts), np.array(rewards)


def baseline_actions(kind: str, n_rounds: int, seed: int) -> np.ndarray:
    """The actions of the grader's baselines on the same protocol: uniformly random items, or ε-greedy on
    per-item ridge estimates (the greedy part of LinUCB with a random item with probability ε)."""
    env = gym.make(ENV_ID)
    n_items, d = env.action_space.n, env.observation_space.shape[0]
    rng = np.random.default_rng(seed + 1)
    gram, moment = np.tile(np.eye(d), (n_items, 1, 1)), np.zeros((n_items, d))
    actions = np.zeros(n_rounds, dtype=np.int64)
    for t in range(n_rounds):
        x, _ = env.reset(seed=seed if t == 0 else None)
        x = x.astype(np.float64)
        if kind == "random" or rng.random() < EPSILON:
            action = int(rng.integers(n_items))
        else:
            action = int(np.argmax(upper_confidence_bounds(gram, moment, x, 0.0)))
        reward = env.step(action)[1]
        gram[action] += np.outer(x, x)
        moment[action] += reward * x
        actions[t] = action
    return actions


def regret(actions: np.ndarray, contexts: np.ndarray) -> np.ndarray:
    """Expected regret of every round: the best item's expected reward minus the chosen one's."""
    mu = gym.make(ENV_ID).unwrapped.expected_rewards
    return mu[contexts].max(axis=1) - mu[contexts, actions]


def first_non_ucb_round(actions: np.ndarray, contexts: np.ndarray, rewards: np.ndarray,
                        alpha: float) -> tuple[int, np.ndarray] | None:
    """Replaying LinUCB's statistics along the run (A = I, b = 0, then the played arm's x x^T and r x), the
    first round whose action is not among the largest upper confidence bounds (up to UCB_RTOL), with the
    bounds of that round; None when every round's action is one."""
    world = gym.make(ENV_ID).unwrapped
    features = world.contexts[contexts].astype(np.float32).astype(np.float64)  # what env.reset observes
    d = features.shape[1]
    A, b = np.tile(np.eye(d), (world.n_items, 1, 1)), np.zeros((world.n_items, d))
    for t, (x, action, reward) in enumerate(zip(features, actions, rewards, strict=True)):
        ucb = upper_confidence_bounds(A, b, x, alpha)
        if ucb[action] < ucb.max() - UCB_RTOL * max(1.0, float(np.abs(ucb).max())):
            return t, ucb
        A[action] += np.outer(x, x)
        b[action] += reward * x
    return None


def run_linucb(prop: str, train_linucb: Callable, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(actions, rewards, the users of the rounds, the call's text) of the student's seeded run; the rewards
    must be the environment's for those actions."""
    text = f"train_linucb(gym.make({ENV_ID!r}), {LINUCB_ROUNDS}, alpha={alpha}, seed={GRADING_SEED})"
    history = call_student(prop, text, with_timeout(train_linucb, TRAINING_TIMEOUT), gym.make(ENV_ID),
                           LINUCB_ROUNDS, alpha, GRADING_SEED)
    if not isinstance(history, dict) or not {"actions", "rewards"} <= set(history):
        fail(prop, text, 'a dict with the keys "actions" and "rewards"', show(history),
             'return {"actions": np.array(actions), "rewards": np.array(rewards)}')
    actions = as_array(prop, text, history["actions"], shape=(LINUCB_ROUNDS,), what='history["actions"]')
    rewards = as_array(prop, text, history["rewards"], shape=(LINUCB_ROUNDS,), what='history["rewards"]')
    n_items = gym.make(ENV_ID).action_space.n
    if np.any(actions != np.round(actions)) or actions.min() < 0 or actions.max() >= n_items:
        fail(prop, text, f"item indices in 0..{n_items - 1}", show(actions), "record the item played each round")
    actions = actions.astype(np.int64)
    contexts, replayed = replay(actions, GRADING_SEED)
    if not np.array_equal(replayed, rewards):
        first = int(np.flatnonzero(replayed != rewards)[0])
        fail(prop, text + "; the actions replayed on the same environment", "the rewards the environment gives "
             f"them (round {first}: {replayed[first]})", f"{rewards[first]}", "each round: env.reset(seed=seed "
             "if t == 0 else None), choose, one env.step(action), record its reward; no other env calls")
    return actions, rewards, contexts, text


@check("linucb_regret")
def check_linucb_regret(train_linucb: Callable) -> str:
    """Run at alpha = 1 and at alpha = 0.25: every round's item has the largest upper confidence bound with that
    alpha given the run's own history (replayed here, so an alpha ignored or put elsewhere fails: measured, the
    mistakes of the corpus leave it at round 2-40); at alpha = 1, over 3,000 seeded rounds, LinUCB's exact
    regret is below ε-greedy's and random's, and its second half has less regret than its first."""
    prop = (f"LinUCB plays the item with the largest upper confidence bound for the alpha it is given (alpha = "
            f"{' and '.join(str(a) for a in LINUCB_ALPHAS)}), and over {LINUCB_ROUNDS} rounds at alpha = "
            f"{LINUCB_ALPHA} it has less regret than ε-greedy (ε={EPSILON}) and than random items, and less in "
            "the second half than in the first")
    runs = {alpha: run_linucb(prop, train_linucb, alpha) for alpha in LINUCB_ALPHAS}
    for alpha, (actions, rewards, contexts, text) in runs.items():
        wrong = first_non_ucb_round(actions, contexts, rewards, alpha)
        if wrong is not None:
            t, ucb = wrong
            fail(prop, f"{text}; the statistics A, b of rounds 0..{t - 1} replayed",
                 f"round {t}: an item in {best_arms(ucb).tolist()} (upper confidence bounds {show(ucb)})",
                 f"item {actions[t]}", "each round choose linucb_select(A, b, x, alpha) with the alpha passed to "
                 "train_linucb (not a constant), then update the played item with x and the reward")
    actions, rewards, contexts, text = runs[LINUCB_ALPHA]
    ours = regret(actions, contexts)
    learning_curve(np.cumsum(ours), reference=0.0, reference_label="no regret", xlabel="round", window=1,
                   ylabel="cumulative expected regret", label="LinUCB (alpha = 1), your run")
    others = {kind: float(regret(acts, replay(acts, GRADING_SEED)[0]).sum())
              for kind, acts in ((k, baseline_actions(k, LINUCB_ROUNDS, GRADING_SEED)) for k in ("epsilon", "random"))}
    half = LINUCB_ROUNDS // 2
    first_half, second_half = float(ours[:half].sum()), float(ours[half:].sum())
    total = first_half + second_half
    if total >= others["epsilon"] or total >= others["random"] or second_half >= first_half:
        fail(prop, text, f"regret < ε-greedy's {others['epsilon']:.1f} and random's {others['random']:.1f}, "
             "second half < first half", f"regret {total:.1f} (first half {first_half:.1f}, second half "
             f"{second_half:.1f})", "choose with linucb_select on the observation, update the played arm with "
             "linucb_update and the observed reward; A starts as the identity, b at zero, for every arm")
    return (f"every round's item has the largest bound at alpha {' and '.join(str(a) for a in LINUCB_ALPHAS)}; "
            f"regret {total:.1f} (halves {first_half:.1f} / {second_half:.1f}) vs ε-greedy {others['epsilon']:.1f},"
            f" random {others['random']:.1f}")
