"""Checks for assignment 3, DQN for information retrieval: masked action selection and a recommender DQN.

Masked helpers are judged by the action they may return (never an unavailable one, whatever its value),
by their frequencies (ties and exploration among the available actions only) and by the error they raise
when nothing is available. The recommender is judged by the undiscounted return of the greedy policy of
the network it returns, measured here, in the grader, on ``rlir/UserSatisfaction-v0`` and compared with the
exact dynamic-programming optimum: never by numbers the student's code reports about itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from hypothesis import strategies as st

import rlir  # noqa: F401  (registers rlir/UserSatisfaction-v0)
from autograder.toolkit.checks import check, learning_curve
from autograder.toolkit.framework import (
    CheckFailure,
    Hints,
    as_array,
    as_number,
    as_tuple,
    call_student,
    expect_frequencies,
    fail,
    for_all,
    repeat_calls,
    show,
    with_timeout,
)
from autograder.toolkit.remote import StudentCodeError
from rlir.envs.user_satisfaction import UserSatisfactionEnv

FOLDER = "03_dqn_for_ir"  # under source/ and release/ (the assignment's id is this module's name)
# The public contract: what students define, with these exact names and signatures.
CONTRACT = ("masked_argmax", "masked_max", "masked_epsilon_greedy", "train_recommender_dqn")
# A training run another graded cell already made with the same arguments is shared, not repeated.
SHARED_RUNS = ("train_recommender_dqn",)

ENV_ID = "rlir/UserSatisfaction-v0"
HORIZON = 60
N_ITEMS = 11
# Exact expected returns of rlir/UserSatisfaction-v0 (rlir.envs.user_satisfaction.baseline_returns()).
DP_OPTIMUM = 291.673
BEST_CONSTANT = 260.551
RANDOM_RETURN = 165.0
MYOPIC_RETURN = 5.793

GRADING_SEED = 20211115
# The hyper-parameters every graded training run uses (the notebook shows the same dictionary).
LEARNING_CONFIG = {
    "gamma": 0.99,
    "learning_rate": 1e-3,
    "batch_size": 128,
    "buffer_size": 50_000,
    "learning_starts": 500,
    "train_frequency": 1,
    "target_update_interval": 1_000,
    "epsilon_start": 1.0,
    "epsilon_end": 0.02,
    "exploration_fraction": 0.2,
    "hidden_sizes": (64, 64),
}
LEARNING_STEPS = 20_000  # 333 sessions of 60 recommendations
LEARNING_FRACTION = 0.95  # of the DP optimum
LEARNING_TIMEOUT = 280.0  # CPU seconds of the training call (the graded cell's budget is 300 s)
MYOPIC_STEPS = 5_000
MYOPIC_MAX_RETURN = 60.0  # random recommendations earn 165, the best constant item 260.6, clickbait only 5.8
EVAL_EPISODES = 300
EVAL_SEED = 777_000


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------
def describe(q_values: Any, mask: Any, extra: str = "") -> str:
    kind = "torch.tensor" if isinstance(q_values, torch.Tensor) else "np.array"
    q = q_values.numpy() if isinstance(q_values, torch.Tensor) else q_values
    text = f"q_values={kind}({show(np.asarray(q))}), mask=np.array({show(np.asarray(mask))}, dtype={mask.dtype})"
    return text + (f", {extra}" if extra else "")


def as_action(prop: str, text: str, action: Any, n_actions: int) -> int:
    """An int action index in range, or a failure that says what came back instead."""
    action = as_number(prop, text, action, what="an int action index", integer=True,
                       hint="return int(action), not an array, a tensor, a float or a bool")
    if not 0 <= action < n_actions:
        fail(prop, text, f"an action in 0..{n_actions - 1}", action, "return an index into q_values")
    return action


def sample_actions(prop: str, function: Callable, args: tuple, n_actions: int, times: int, text: str) -> np.ndarray:
    actions = call_student(prop, text, repeat_calls, function, times, *args)
    return np.array([as_action(prop, text, a, n_actions) for a in actions])


def best_available(q: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Indices of the available actions with the largest value among the available ones."""
    valid = mask.astype(bool)
    return np.flatnonzero(valid & (q == q[valid].max()))


@st.composite
def masked_row(draw):
    """A row of 2-7 Q-values and a mask with at least one available and one masked action; masked actions have
    the largest values (so a solution that forgets the mask picks one); values and masks come as numpy or
    torch. (A row with nothing masked does not test the property; MASKED_ROWS adds the edge cases.)"""
    n = draw(st.integers(2, 7))
    values = np.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), dtype=float)
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    available = draw(st.integers(0, n - 1))
    masked = draw(st.integers(0, n - 2))
    mask[available], mask[masked + (masked >= available)] = True, False
    bonus = draw(st.sampled_from([1.0, 10.0, 1e6]))
    values[~mask] = values.max() + bonus
    if draw(st.booleans()):
        values = -values  # also rows where every available value is negative
        values[~mask] = np.abs(values).max() + bonus
    mask = mask.astype(draw(st.sampled_from([bool, np.int8, np.int64])))
    q = torch.tensor(values, dtype=torch.float32) if draw(st.booleans()) else values
    return q, mask


def expect_value_error(prop: str, text: str, function: Callable, *args: Any) -> None:
    """The call must raise ValueError (in the student's process or here)."""
    hint = "check mask.any() (per row for masked_max) first and raise ValueError with a clear message"
    try:
        result = function(*args)
    except ValueError:
        return
    except StudentCodeError as error:
        if error.kind == "exception" and str(error).startswith("ValueError"):
            return
        fail(prop, text, "ValueError", str(error), hint)
    except CheckFailure:
        raise
    except Exception as error:  # noqa: BLE001 - any other exception is the wrong one
        fail(prop, text, "ValueError", f"{type(error).__name__}: {error}", hint)
    fail(prop, text, "ValueError", f"a normal return: {show(result)}", hint)


# ---------------------------------------------------------------------------------------------------------
# masked_argmax
# ---------------------------------------------------------------------------------------------------------
# Explicit examples: a masked action before the best available one (an index into q_values[mask] is wrong),
# every available value negative (multiplying by the mask picks a masked 0), a single action, a torch row.
MASKED_ROWS = (
    (np.array([9.0, -1.0, 2.0, 9.0]), np.array([False, True, True, False])),
    (np.array([-3.0, -1.0, 7.0, -2.0]), np.array([1, 1, 0, 1], dtype=np.int8)),
    (np.array([0.5]), np.array([True])),
    (torch.tensor([4.0, -2.0, -0.5], dtype=torch.float32), np.array([0, 1, 1])),
)


@check("masked_argmax_never_masked")
def check_masked_argmax_never_masked(masked_argmax: Callable) -> str:
    """Always an available action with the largest available value, even if a masked action is larger."""
    prop = ("masked_argmax returns an available action whose value is the largest among the available actions, "
            "even when an unavailable action has a larger value")

    def body(case):
        q, mask = case
        text = describe(q, mask, "rng=np.random.default_rng(0)")
        actions = sample_actions(prop, masked_argmax, (q, mask, np.random.default_rng(0)), len(mask), 20, text)
        q_np = q.numpy().astype(float) if isinstance(q, torch.Tensor) else q
        allowed = set(best_available(q_np, np.asarray(mask)).tolist())
        wrong = sorted(set(actions.tolist()) - allowed)
        if wrong:
            masked = [a for a in wrong if not mask[a]]
            hint = ("an unavailable action (mask == 0) must never be chosen, whatever its value; set masked values "
                    "to -inf before the argmax (multiplying by the mask fails when values are negative)"
                    if masked else "return an index into the full q_values, not into q_values[mask]")
            fail(prop, text, f"only actions {sorted(allowed)}", f"also actions {wrong}", hint)

    for_all(masked_row(), body, max_examples=120, examples=MASKED_ROWS)
    return f"{120 + len(MASKED_ROWS)} examples, 20 draws each"


TIE_CASES = (
    (np.array([2.0, 2.0, 2.0, 0.0]), np.array([1, 0, 1, 1], dtype=np.int8)),
    (np.array([0.0, 0.0, 0.0, 0.0, 0.0]), np.array([True, True, False, True, True])),
    (np.array([-1.0, 5.0, -1.0, -1.0]), np.array([1, 0, 1, 1])),
)


@check("masked_argmax_ties")
def check_masked_argmax_ties(masked_argmax: Callable) -> str:
    """Tied best available actions are chosen uniformly at random with the given Generator."""
    prop = "masked_argmax breaks ties uniformly at random among the best available actions"
    hint = ("np.argmax always returns the first maximum; choose among the tied available actions with "
            "rng.choice (or rng.integers)")
    for index, (q, mask) in enumerate(TIE_CASES):
        for as_tensor in (False, True):
            q_in = torch.tensor(q) if as_tensor else q
            seed = 300 + index
            text = describe(q_in, mask, f"2000 draws with rng=np.random.default_rng({seed})")
            actions = sample_actions(prop, masked_argmax, (q_in, mask, np.random.default_rng(seed)), len(q),
                                     2000, text)
            expected = np.zeros(len(q))
            best = best_available(q, mask)
            expected[best] = 1.0 / len(best)
            expect_frequencies(prop, text, actions, expected, hint)
    return f"{len(TIE_CASES)} cases x numpy/torch x 2000 draws"


# ---------------------------------------------------------------------------------------------------------
# masked_epsilon_greedy
# ---------------------------------------------------------------------------------------------------------
EPSILON_CASES = (
    (np.array([1.0, 9.0, 3.0, 0.0]), np.array([1, 0, 1, 1]), 0.3),
    (np.array([5.0, 5.0, 1.0, 7.0, 5.0]), np.array([True, True, True, False, True]), 0.5),
    (np.array([0.0, 0.0, 0.0, 0.0]), np.array([0, 1, 1, 1], dtype=np.int8), 0.1),
    (np.array([2.0, -1.0, 0.5, 4.0]), np.array([1, 1, 1, 0]), 1.0),
    (np.array([-1.0, -3.0, 8.0]), np.array([1, 1, 0]), 0.0),
    (np.array([3.0, 1.0]), np.array([0, 1]), 0.7),
)


@check("masked_epsilon_greedy_frequencies")
def check_masked_epsilon_greedy_frequencies(masked_epsilon_greedy: Callable) -> str:
    """epsilon / n_available on each available action plus (1 - epsilon) shared by the best available ones."""
    prop = ("masked_epsilon_greedy explores uniformly over the available actions with probability epsilon and "
            "otherwise picks a best available action (ties at random); it never picks an unavailable action")
    hint = ("explore with rng.random() < epsilon by choosing uniformly among np.flatnonzero(mask), otherwise use "
            "masked_argmax; never draw from range(len(q_values))")
    for index, (q, mask, epsilon) in enumerate(EPSILON_CASES):
        q_in = torch.tensor(q, dtype=torch.float32) if index % 2 else q
        seed = 400 + index
        text = describe(q_in, mask, f"epsilon={epsilon}, 4000 draws with rng=np.random.default_rng({seed})")
        actions = sample_actions(prop, masked_epsilon_greedy, (q_in, mask, epsilon, np.random.default_rng(seed)),
                                 len(q), 4000, text)
        valid = mask.astype(bool)
        best = best_available(q, mask)
        expected = epsilon * valid / valid.sum()
        expected[best] += (1 - epsilon) / len(best)
        expect_frequencies(prop, text, actions, expected, hint)
    return f"{len(EPSILON_CASES)} cases x 4000 draws"


# ---------------------------------------------------------------------------------------------------------
# masked_max
# ---------------------------------------------------------------------------------------------------------
@st.composite
def masked_batch(draw):
    """(B, A) Q-values and a mask with at least one available action per row; masked entries are the largest.
    B != A, so that a maximum over the wrong axis has the wrong shape (MASKED_BATCHES adds square ones)."""
    n = draw(st.integers(2, 6))
    batch = draw(st.integers(1, 5).filter(lambda b: b != n))
    values = np.array(draw(st.lists(st.integers(-5, 5), min_size=batch * n, max_size=batch * n)),
                      dtype=np.float32).reshape(batch, n)
    if draw(st.booleans()):
        values -= 6.0  # every value negative
    mask = np.array(draw(st.lists(st.booleans(), min_size=batch * n, max_size=batch * n))).reshape(batch, n)
    for row, col in enumerate(draw(st.lists(st.integers(0, n - 1), min_size=batch, max_size=batch))):
        mask[row, col] = True
    if mask.all():
        mask[draw(st.integers(0, batch - 1)), draw(st.integers(0, n - 1))] = False  # (n >= 2: one stays)
    values[~mask] = draw(st.sampled_from([10.0, 1e6]))
    dtype = draw(st.sampled_from([torch.bool, torch.int64, torch.int8]))
    return torch.tensor(values), torch.tensor(mask).to(dtype)


# Explicit examples: square batches (the maximum over dim=0 has the right shape, not the right values), a row
# whose available values are all negative (multiplying by the mask gives 0), integer masks.
MASKED_BATCHES = (
    (torch.tensor([[1.0, 10.0, -2.0], [10.0, -4.0, -1.0], [3.0, 0.0, 10.0]]),
     torch.tensor([[1, 0, 1], [0, 1, 1], [1, 1, 0]], dtype=torch.int64)),
    (torch.tensor([[-5.0, 1e6], [-1.0, -3.0]]), torch.tensor([[True, False], [True, True]])),
    (torch.tensor([[-2.0, -7.0, 10.0, -1.0]]), torch.tensor([[1, 1, 0, 0]], dtype=torch.int8)),
)


MAX_HINTS = Hints(type="return the tensor of row maxima (e.g. .max(dim=1).values), not a tuple, an array or a float")


@check("masked_max_ignores_masked")
def check_masked_max_ignores_masked(masked_max: Callable) -> str:
    """Row-wise maximum over the available actions only: a (B,) tensor, whatever the masked values are."""
    prop = "masked_max(q_values, mask) returns, for every row, the largest value among the available actions"

    def body(case):
        q, mask = case
        text = f"q_values=torch.tensor({show(q.numpy())}), mask=torch.tensor({show(mask.numpy())}, dtype={mask.dtype})"
        result = call_student(prop, text, masked_max, q, mask)
        values = as_array(prop, text, result, shape=(q.shape[0],), what="the row maxima", tensor=True,
                          hints=MAX_HINTS)
        valid = mask.numpy().astype(bool)
        expected = np.where(valid, q.numpy(), -np.inf).max(axis=1)
        if not np.allclose(values, expected, atol=1e-5):
            hint = ("fill the unavailable entries with -inf before taking the max over dim=1; multiplying by the mask "
                    "gives 0 for rows whose available values are negative, and ~mask is not a logical not for an "
                    "integer mask (use mask == 0 or mask.bool())")
            fail(prop, text, show(expected), show(values), hint)

    for_all(masked_batch(), body, max_examples=120, examples=MASKED_BATCHES)
    return f"{120 + len(MASKED_BATCHES)} examples"


# ---------------------------------------------------------------------------------------------------------
# All masked
# ---------------------------------------------------------------------------------------------------------
@check("all_masked_raises")
def check_all_masked_raises(masked_argmax: Callable, masked_max: Callable, masked_epsilon_greedy: Callable) -> str:
    """With no available action there is nothing to choose: all three functions raise ValueError."""
    prop = "masked_argmax, masked_epsilon_greedy and masked_max raise ValueError when a row has no available action"
    q, mask = np.array([1.0, 2.0, 3.0]), np.zeros(3, dtype=np.int8)
    expect_value_error(prop, describe(q, mask, "rng=np.random.default_rng(0)") + " (masked_argmax)", masked_argmax,
                       q, mask, np.random.default_rng(0))
    for epsilon in (0.0, 1.0):
        expect_value_error(prop, describe(q, mask, f"epsilon={epsilon}") + " (masked_epsilon_greedy)",
                           masked_epsilon_greedy, q, mask, epsilon, np.random.default_rng(0))
    batch = torch.tensor([[1.0, -2.0, 0.5], [3.0, 4.0, 5.0], [0.0, 1.0, 2.0]])
    for batch_mask in (torch.tensor([[True, False, True], [False, False, False], [True, True, True]]),
                       torch.tensor([[1, 1, 1], [1, 1, 1], [0, 0, 0]])):
        text = (f"q_values=torch.tensor({show(batch.numpy())}), mask=torch.tensor({show(batch_mask.numpy())}) "
                "(masked_max; one row has no available action)")
        expect_value_error(prop, text, masked_max, batch, batch_mask)
    return "5 cases"


# ---------------------------------------------------------------------------------------------------------
# train_recommender_dqn
# ---------------------------------------------------------------------------------------------------------
def run_training(prop: str, train: Callable, total_steps: int, config: dict, seed: int,
                 timeout: float) -> tuple[Any, np.ndarray, str]:
    """Call the student's trainer on a fresh rlir/UserSatisfaction-v0; check the shape of what it returns."""
    env = gym.make(ENV_ID)
    text = f"train_recommender_dqn(gym.make({ENV_ID!r}), total_steps={total_steps}, config={config}, seed={seed})"
    result = call_student(prop, text, with_timeout(train, timeout), env, total_steps, config, seed)
    q_network, returns = as_tuple(prop, text, result, ("q_network", "episode_returns"))
    n_episodes = total_steps // HORIZON
    returns = as_array(prop, text, returns, shape=(n_episodes,),
                       what=f"episode_returns (one per completed session: {total_steps} // {HORIZON})")
    return q_network, returns, text


def q_values_of(prop: str, text: str, q_network: Any, obs: np.ndarray) -> np.ndarray:
    """The network's Q-values for a batch of observations, as a (B, N_ITEMS) float array."""
    batch = torch.as_tensor(obs, dtype=torch.float32)
    out = call_student(prop, text + f"; then q_network(a float32 tensor of shape {tuple(batch.shape)})",
                       q_network, batch)
    return as_array(prop, text + "; q_network(observations)", out, shape=(len(obs), N_ITEMS),
                    what="the Q-values (batch, n_items)")


def greedy_returns(prop: str, text: str, q_network: Any, n_episodes: int = EVAL_EPISODES,
                   seed: int = EVAL_SEED) -> np.ndarray:
    """Undiscounted return of the network's greedy policy in ``n_episodes`` sessions run here, in parallel:
    session i starts from ``reset(seed=seed + i)``; one batched network call per time step."""
    envs = [UserSatisfactionEnv() for _ in range(n_episodes)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    returns = np.zeros(n_episodes)
    for _ in range(HORIZON):
        actions = q_values_of(prop, text, q_network, obs).argmax(axis=1)
        steps = [env.step(int(action)) for env, action in zip(envs, actions, strict=True)]
        obs = np.stack([step[0] for step in steps])
        returns += [step[1] for step in steps]
    return returns


INTERFACE_CONFIG = {**LEARNING_CONFIG, "batch_size": 32, "learning_starts": 200, "target_update_interval": 200,
                    "exploration_fraction": 0.5}
PROBE_OBS = np.array([[0.5, 0.0], [0.9, 0.5], [0.1, 0.95], [0.3, 0.3], [0.7, 0.8]], dtype=np.float32)


@check("train_recommender_dqn_interface")
def check_train_recommender_dqn_interface(train_recommender_dqn: Callable) -> str:
    """(q_network, episode_returns): a network mapping observations to one value per item, one undiscounted
    return per completed session, and the same seed gives the same network and returns."""
    prop = ("train_recommender_dqn returns (q_network, episode_returns) with q_network(obs) of shape (B, 11) and "
            "one return per session, reproducibly for a fixed seed")
    steps = 1_200
    net1, returns1, text = run_training(prop, train_recommender_dqn, steps, INTERFACE_CONFIG, 3, 120.0)
    if np.any(returns1 < 0) or np.any(returns1 > 8.0 * HORIZON):
        fail(prop, text, "undiscounted session returns in [0, 480]", show(returns1),
             "add up the environment's rewards over each session")
    q1 = q_values_of(prop, text, net1, PROBE_OBS)
    net2, returns2, _ = run_training(prop, train_recommender_dqn, steps, INTERFACE_CONFIG, 3, 120.0)
    q2 = q_values_of(prop, text, net2, PROBE_OBS)
    if not (np.array_equal(returns1, returns2) and np.allclose(q1, q2, rtol=1e-6, atol=1e-6)):
        fail(prop, text + ", run twice", "identical returns and Q-values", "different results",
             "seed everything from `seed`: torch.manual_seed(seed), np.random.default_rng(seed) for exploration and "
             "replay sampling, env.reset(seed=seed) on the first session only")
    return f"{steps} steps, twice"


@check("myopic_recommender_collapses")
def check_myopic_recommender_collapses(train_recommender_dqn: Callable) -> str:
    """With gamma = 0 the agent maximises the immediate engagement, i.e. clickbait, and the user's
    satisfaction collapses: its greedy return is far below even random recommendations.

    Margins on the grading seed (benchmarks/learning_margins.py): the instructor solution's greedy return is
    5.7 (54.3 below the limit of 60); a trainer that ignores config['gamma'] (0.99 always) earns 278.5, 218.5
    above it."""
    prop = (f"with config['gamma'] = 0 the learned greedy policy is myopic: its return is at most "
            f"{MYOPIC_MAX_RETURN:.0f} (always clickbait earns {MYOPIC_RETURN:.1f}, random {RANDOM_RETURN:.0f})")
    config = {**LEARNING_CONFIG, "gamma": 0.0}
    net, _, text = run_training(prop, train_recommender_dqn, MYOPIC_STEPS, config, GRADING_SEED, 120.0)
    returns = greedy_returns(prop, text, net, n_episodes=100)
    if returns.mean() > MYOPIC_MAX_RETURN:
        fail(prop, text, f"a greedy return <= {MYOPIC_MAX_RETURN:.0f}", f"{returns.mean():.1f} (mean of 100 "
             f"sessions)", "the TD target must be r + config['gamma'] * (...): with gamma = 0 the target is just r")
    return f"greedy return {returns.mean():.1f}"


@check("recommender_learns")
def check_recommender_learns(train_recommender_dqn: Callable) -> str:
    """After LEARNING_STEPS steps on the grading seed, the greedy policy earns >= 0.95 of the DP optimum.

    Margins on the grading seed (benchmarks/learning_margins.py): the instructor solution earns 0.977 of the
    optimum (+0.027); the bugs it targets earn 0.038 (no optimiser step) and 0.021 (gamma 0 by mistake),
    0.91 and 0.93 below the threshold."""
    threshold = LEARNING_FRACTION * DP_OPTIMUM
    prop = (f"after {LEARNING_STEPS} steps the greedy policy's mean return over {EVAL_EPISODES} sessions is >= "
            f"{LEARNING_FRACTION} x the DP optimum {DP_OPTIMUM:.2f} = {threshold:.1f} (best constant item "
            f"{BEST_CONSTANT:.1f}, random {RANDOM_RETURN:.0f})")
    net, train_returns, text = run_training(prop, train_recommender_dqn, LEARNING_STEPS, LEARNING_CONFIG,
                                            GRADING_SEED, LEARNING_TIMEOUT)
    learning_curve(train_returns, reference=threshold, reference_label=f"{LEARNING_FRACTION} x DP optimum",
                   xlabel="training session", window=20)
    returns = greedy_returns(prop, text, net)
    mean, stderr = returns.mean(), returns.std(ddof=1) / np.sqrt(len(returns))
    if mean < threshold:
        fail(prop, text, f"a mean greedy return >= {threshold:.1f}", f"{mean:.1f} +- {stderr:.1f} = "
             f"{mean / DP_OPTIMUM:.3f} of the optimum (last 20 training sessions: {train_returns[-20:].mean():.1f})",
             "double DQN: the online network picks argmax_a Q(s', a), the target network evaluates it; "
             "zero the bootstrap term when terminated; sync the target network every target_update_interval steps; "
             "decay epsilon linearly over exploration_fraction * total_steps")
    return f"greedy return {mean:.1f} +- {stderr:.1f} = {mean / DP_OPTIMUM:.3f} of the DP optimum"
