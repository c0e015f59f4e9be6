"""Checks for assignment 1, tabular Q-learning on FrozenLake-v1 (4x4, slippery).

Each check tests a property any correct solution has, never a particular way of writing it: an update is
judged by where it moves Q, epsilon-greedy by its action frequencies, value iteration by the Bellman
optimality equation, training by the exact success probability of the policy it learns.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from hypothesis import strategies as st

from autograder.toolkit.checks import check, learning_curve
from autograder.toolkit.framework import (
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
from autograder.toolkit.mdp import describe_mdp, draw_transitions
from rlir.frozenlake import make_frozenlake, policy_success_probability

FOLDER = "01_tabular_q_learning"  # under source/ and release/ (the assignment's id is this module's name)
# The public contract: what students define, with these exact names and signatures.
CONTRACT = ("epsilon_greedy", "q_learning_update", "greedy_policy", "value_iteration", "shape_reward",
            "train_q_learning")
# A training run another graded cell already made with the same arguments is shared, not repeated.
SHARED_RUNS = ("train_q_learning",)

GRADING_SEED = 20211115
LEARNING_EPISODES = 10_000
SUCCESS_THRESHOLD = 0.70  # on each lake below; the reference reaches 0.740 on both, the best possible is 0.744
# The learning check trains on the course's lake and on its mirror image (the map transposed: another lake with
# the same optimum), so that a table that was not learned from the environment it is given fails on one of them.
MIRRORED_MAP = ("SFFH", "FHFF", "FFFF", "FHHG")
# The interface check also trains on two tiny lakes without slipping, where the greedy action from the start
# must step onto the goal: (map, that action, its name).
TINY_LAKES = ((("SG",), 2, "right"), (("GS",), 0, "left"))
TINY_EPISODES = 100
# Optimal state values of FrozenLake-v1 4x4 slippery for gamma = 0.99 (value iteration to 1e-12).
FROZENLAKE_V_STAR = np.array([
    0.542026, 0.498803, 0.470696, 0.456852, 0.558451, 0.0, 0.358348, 0.0,
    0.591799, 0.64308, 0.615208, 0.0, 0.0, 0.74172, 0.862837, 0.0])
FROZENLAKE_OPTIMAL_SUCCESS = 0.7442  # best achievable within the 100-step limit


# ---------------------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------------------
small_floats = st.integers(-40, 40).map(lambda i: i / 4)


@st.composite
def q_update_case(draw, distinct_next: bool = False):
    """A Q-table and one transition, with values on a coarse grid so the arithmetic is exact enough."""
    n_states = draw(st.integers(1 if not distinct_next else 2, 5))
    n_actions = draw(st.integers(1, 4))
    q = np.array(draw(st.lists(small_floats, min_size=n_states * n_actions, max_size=n_states * n_actions)),
                 dtype=float).reshape(n_states, n_actions)
    state = draw(st.integers(0, n_states - 1))
    action = draw(st.integers(0, n_actions - 1))
    if distinct_next:
        next_state = draw(st.integers(0, n_states - 1).filter(lambda s: s != state))
    else:
        next_state = draw(st.integers(0, n_states - 1))
    reward = draw(small_floats)
    terminated = draw(st.booleans())
    alpha = draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]))
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99]))
    return q, state, action, reward, next_state, terminated, alpha, gamma


def describe_update(q, state, action, reward, next_state, terminated, alpha, gamma) -> str:
    table = show(q).replace("\n", " ")
    return (f"q_table={table}, state={state}, action={action}, reward={reward}, next_state={next_state}, "
            f"terminated={terminated}, alpha={alpha}, gamma={gamma}")


def td_target(q, reward, next_state, terminated, gamma) -> float:
    """r if the episode ended, else r + gamma * max_a Q(s', a)."""
    return float(reward) if terminated else float(reward + gamma * np.max(q[next_state]))


def run_update(prop: str, update: Callable, case: tuple) -> tuple[np.ndarray, np.ndarray, str]:
    """Apply the student's update to a copy of the case's table; return (before, after, description)."""
    q, state, action, reward, next_state, terminated, alpha, gamma = case
    before = q.copy()
    after = q.copy()
    text = describe_update(*case)
    call_student(prop, text, update, after, state, action, reward, next_state, terminated, alpha, gamma)
    return before, after, text


def expect_only_entry_changed(prop: str, text: str, before: np.ndarray, after: np.ndarray, state: int,
                              action: int, expected_value: float) -> None:
    """Q[s, a] must equal ``expected_value`` and every other entry must be untouched."""
    if not np.isclose(after[state, action], expected_value, rtol=1e-9, atol=1e-9):
        if np.array_equal(after, before) and not np.isclose(before[state, action], expected_value):
            fail(prop, text, f"Q[{state}, {action}] = {expected_value:.6g}", "the table was not changed",
                 "update q_table in place (q_table[state, action] = ...); do not build and return a new table")
        fail(prop, text, f"Q[{state}, {action}] = {expected_value:.6g}", f"Q[{state}, {action}] = "
             f"{after[state, action]:.6g}", "the new value is Q + alpha * (target - Q), target = r + gamma * "
             "max_a Q[s', a], or just r when terminated")
    others = np.ones_like(before, dtype=bool)
    others[state, action] = False
    if not np.array_equal(after[others], before[others]):
        changed = [tuple(int(i) for i in ix) for ix in np.argwhere((after != before) & others)]
        fail(prop, text, "no entry other than Q[state, action] changes", f"entries {changed[:5]} changed",
             "write only q_table[state, action]; compute the max over next_state's row without modifying it")


# ---------------------------------------------------------------------------------------------------------
# q_learning_update
# ---------------------------------------------------------------------------------------------------------
@check("update_fixed_point")
def check_update_fixed_point(q_learning_update: Callable) -> str:
    """If Q(s, a) already equals its TD target, the update leaves the whole table unchanged."""
    prop = "Q is unchanged when Q[state, action] already equals its TD target"

    def body(case):
        q, state, action, reward, next_state, terminated, alpha, gamma = case
        q = q.copy()
        q[state, action] = td_target(q, reward, next_state, terminated, gamma)
        case = (q, state, action, reward, next_state, terminated, alpha, gamma)
        before, after, text = run_update(prop, q_learning_update, case)
        if not np.allclose(after, before, rtol=1e-9, atol=1e-9):
            fail(prop, text, before, after, "at the fixed point the TD error is zero; check the target and its "
                 "sign: Q += alpha * (target - Q)")

    for_all(q_update_case(distinct_next=True), body)
    return "100 examples"


@check("update_moves_toward_target")
def check_update_moves_toward_target(q_learning_update: Callable) -> str:
    """The new Q(s, a) is exactly target + (1 - alpha) * (old - target); nothing else changes; in place."""
    prop = "Q[state, action] moves toward the TD target by exactly the factor (1 - alpha), in place"

    def body(case):
        q, state, action, reward, next_state, terminated, alpha, gamma = case
        target = td_target(q, reward, next_state, terminated, gamma)
        before, after, text = run_update(prop, q_learning_update, case)
        expected = target + (1 - alpha) * (before[state, action] - target)
        expect_only_entry_changed(prop, text, before, after, state, action, expected)

    for_all(q_update_case(), body, max_examples=150)
    return "150 examples"


@check("update_alpha_edge_cases")
def check_update_alpha_edge_cases(q_learning_update: Callable) -> str:
    """alpha = 0 changes nothing; alpha = 1 replaces Q(s, a) by the target."""
    prop = "alpha=0 leaves Q unchanged and alpha=1 sets Q[state, action] to the TD target"

    def body(case):
        q, state, action, reward, next_state, terminated, _, gamma = case
        for alpha in (0.0, 1.0):
            edge = (q, state, action, reward, next_state, terminated, alpha, gamma)
            target = td_target(q, reward, next_state, terminated, gamma)
            before, after, text = run_update(prop, q_learning_update, edge)
            expect_only_entry_changed(prop, text, before, after, state, action,
                                      before[state, action] if alpha == 0 else target)

    for_all(q_update_case(), body, max_examples=60)
    return "60 examples"


@check("update_terminal_vs_truncated")
def check_update_terminal_vs_truncated(q_learning_update: Callable) -> str:
    """A terminal transition ignores the next state's values; a non-terminal (e.g. truncated) one does not."""
    prop = "terminated=True ignores Q[next_state]; terminated=False bootstraps from max Q[next_state]"

    def body(case):
        q, state, action, reward, next_state, _, alpha, gamma = case
        alpha = alpha if alpha > 0 else 0.5
        gamma = gamma if gamma > 0 else 0.9
        q = q.copy()
        q[next_state] += 5.0  # make bootstrapping visible
        for terminated in (True, False):
            edge = (q, state, action, reward, next_state, terminated, alpha, gamma)
            before, after, text = run_update(prop, q_learning_update, edge)
            target = td_target(before, reward, next_state, terminated, gamma)
            expected = before[state, action] + alpha * (target - before[state, action])
            if not np.isclose(after[state, action], expected, rtol=1e-9, atol=1e-9):
                hint = ("when terminated is True there is no next state to bootstrap from: the target is just r"
                        if terminated else "an episode cut off by the time limit is not terminated: "
                        "bootstrap with gamma * max_a Q[next_state, a]")
                fail(prop, text, f"Q[{state}, {action}] = {expected:.6g}",
                     f"Q[{state}, {action}] = {after[state, action]:.6g}", hint)

    for_all(q_update_case(distinct_next=True), body, max_examples=60)
    return "60 examples"


# ---------------------------------------------------------------------------------------------------------
# epsilon_greedy and greedy_policy
# ---------------------------------------------------------------------------------------------------------
def intended_distribution(q_values: np.ndarray, epsilon: float) -> np.ndarray:
    """epsilon / n on every action plus (1 - epsilon) shared equally among the maximal actions."""
    n = len(q_values)
    best = q_values == q_values.max()
    return epsilon / n + (1 - epsilon) * best / best.sum()


def sample_actions(prop: str, epsilon_greedy: Callable, q_values: np.ndarray, epsilon: float,
                   n_samples: int, seed: int) -> np.ndarray:
    """Draw ``n_samples`` actions with one seeded Generator; reject non-integer or out-of-range actions."""
    text = f"q_values={show(q_values)}, epsilon={epsilon}, rng=np.random.default_rng({seed})"
    rng = np.random.default_rng(seed)
    actions = call_student(prop, text, repeat_calls, epsilon_greedy, n_samples, q_values, epsilon, rng)
    for action in actions[:50]:
        as_number(prop, text, action, what="an int action index", integer=True,
                  hint="return int(action), not an array, a float or a bool")
    actions = np.asarray(actions)
    if actions.ndim != 1 or np.any(actions < 0) or np.any(actions >= len(q_values)):
        fail(prop, text, f"actions in 0..{len(q_values) - 1}", f"{show(np.unique(actions))}",
             "sample from range(len(q_values))")
    return actions


FREQUENCY_CASES = (
    (np.array([1.0, 2.0, 3.0, 0.0]), 0.3),
    (np.array([5.0, 5.0, 1.0]), 0.5),
    (np.array([0.0, 0.0, 0.0, 0.0]), 0.1),
    (np.array([2.0, -1.0, 0.5]), 1.0),
    (np.array([-1.0, -3.0]), 0.0),
    (np.array([0.2, 0.7, 0.7, 0.7, -0.1]), 0.2),
)


def frequency_test(prop: str, hint: str, epsilon_greedy: Callable, q_values: np.ndarray, epsilon: float,
                   seed: int, n_samples: int = 4000) -> None:
    """Chi-square goodness of fit against the intended distribution, failing only when p < 1e-6."""
    actions = sample_actions(prop, epsilon_greedy, q_values, epsilon, n_samples, seed)
    text = f"q_values={show(q_values)}, epsilon={epsilon}, {n_samples} draws from np.random.default_rng({seed})"
    expect_frequencies(prop, text, actions, intended_distribution(q_values, epsilon), hint)


RNG_SEEDS = 300  # fresh generators per case of the test that the rng passed in is what decides


def expect_decided_by_rng(prop: str, hint: str, epsilon_greedy: Callable, q_values: np.ndarray, epsilon: float,
                          first_seed: int) -> None:
    """Called once per fresh ``np.random.default_rng(s)`` for RNG_SEEDS seeds s, twice over: each generator
    state must give the same action both times (so the action comes from ``rng``, not from a counter, the global
    numpy state or the clock), and across states the actions must have the intended frequencies (so ``rng`` is
    not ignored)."""
    seeds = range(first_seed, first_seed + RNG_SEEDS)
    text = (f"q_values={show(q_values)}, epsilon={epsilon}, one call with each np.random.default_rng(s), "
            f"s = {seeds[0]}..{seeds[-1]}")

    def action(seed: int) -> int:
        chosen = call_student(prop, text, epsilon_greedy, q_values.copy(), epsilon, np.random.default_rng(seed))
        return as_number(prop, text, chosen, what="an int action index", integer=True,
                         hint="return int(action), not an array, a float or a bool")

    first = [action(seed) for seed in seeds]
    again = [action(seed) for seed in seeds]
    for seed, one, other in zip(seeds, first, again, strict=True):
        if one != other:
            fail(prop, f"q_values={show(q_values)}, epsilon={epsilon}, rng=np.random.default_rng({seed}), "
                 "called twice with a fresh generator", "the same action both times (same generator state)",
                 f"action {one}, then {other}", "draw every random choice from rng (rng.random(), rng.integers, "
                 "rng.choice): no counter, no np.random.* or random module, nothing kept between calls")
    actions = np.asarray(first)
    if np.any(actions < 0) or np.any(actions >= len(q_values)):
        fail(prop, text, f"actions in 0..{len(q_values) - 1}", show(np.unique(actions)),
             "sample from range(len(q_values))")
    expect_frequencies(prop, text, actions, intended_distribution(q_values, epsilon),
                       hint + "; the random choices must come from the rng passed in")


@check("epsilon_greedy_frequencies")
def check_epsilon_greedy_frequencies(epsilon_greedy: Callable) -> str:
    """Action frequencies equal epsilon / n everywhere plus (1 - epsilon) split over the greedy actions."""
    prop = "epsilon_greedy picks a uniformly random action with probability epsilon, else a greedy one"
    hint = ("with probability epsilon (rng.random() < epsilon) explore uniformly over all actions; otherwise "
            "exploit; epsilon=1 must be uniform and epsilon=0 always greedy")
    for index, (q_values, epsilon) in enumerate(FREQUENCY_CASES):
        frequency_test(prop, hint, epsilon_greedy, q_values, epsilon, seed=100 + index)
    expect_decided_by_rng(prop, hint, epsilon_greedy, np.array([5.0, 5.0, 1.0]), 0.5, first_seed=1000)
    return f"{len(FREQUENCY_CASES)} cases x 4000 draws; {RNG_SEEDS} generators, each twice"


@check("epsilon_greedy_ties")
def check_epsilon_greedy_ties(epsilon_greedy: Callable) -> str:
    """With epsilon = 0 the action is always a maximiser, and tied maximisers are chosen uniformly."""
    prop = "with epsilon=0 the action is always greedy and ties are broken uniformly at random"
    hint = ("np.argmax always returns the first maximum; choose among np.flatnonzero(q == q.max()) with the "
            "rng instead")

    def body(q_values):
        q_values = np.asarray(q_values, dtype=float)
        actions = sample_actions(prop, epsilon_greedy, q_values, 0.0, 40, seed=7)
        best = set(np.flatnonzero(q_values == q_values.max()).tolist())
        wrong = sorted(set(actions.tolist()) - best)
        if wrong:
            fail(prop, f"q_values={show(q_values)}, epsilon=0.0", f"only actions {sorted(best)}",
                 f"also actions {wrong}", "compare against q_values.max(): the greedy action maximises Q")

    for_all(st.lists(st.integers(-3, 3).map(float), min_size=1, max_size=6), body, max_examples=60)
    for index, q_values in enumerate((np.array([1.0, 1.0]), np.array([0.0, 3.0, 3.0, 3.0]),
                                      np.zeros(4), np.array([-2.0, 5.0, -2.0, 5.0, 5.0]))):
        frequency_test(prop, hint, epsilon_greedy, q_values, 0.0, seed=200 + index)
    expect_decided_by_rng(prop, hint, epsilon_greedy, np.array([0.0, 3.0, 3.0, 3.0]), 0.0, first_seed=2000)
    return f"60 examples + 4 tie cases x 4000 draws; {RNG_SEEDS} generators, each twice"


@check("greedy_policy")
def check_greedy_policy(greedy_policy: Callable) -> str:
    """One integer action per state, and it maximises that state's row of Q."""
    prop = "greedy_policy returns, for every state, an action with the largest Q-value"

    @st.composite
    def tables(draw):
        n_states, n_actions = draw(st.integers(1, 6)), draw(st.integers(1, 5))
        values = draw(st.lists(st.integers(-3, 3), min_size=n_states * n_actions, max_size=n_states * n_actions))
        return np.array(values, dtype=float).reshape(n_states, n_actions)

    def body(q):
        text = f"q_table={show(q)}"
        policy = call_student(prop, text, greedy_policy, q.copy())
        policy = as_array(prop, text, policy, shape=(q.shape[0],), what="one action per state")
        if not np.all(policy == np.round(policy)) or np.any(policy < 0) or np.any(policy >= q.shape[1]):
            fail(prop, text, f"integer actions in 0..{q.shape[1] - 1}", policy, "use argmax over the actions")
        chosen = q[np.arange(q.shape[0]), policy.astype(int)]
        if not np.array_equal(chosen, q.max(axis=1)):
            fail(prop, text, f"actions with values {show(q.max(axis=1))}", f"actions {show(policy)} with values "
                 f"{show(chosen)}", "take the argmax over axis=1 (the actions), one per state (row)")

    for_all(tables(), body, max_examples=80)
    return "80 examples"


# ---------------------------------------------------------------------------------------------------------
# value_iteration
# ---------------------------------------------------------------------------------------------------------
@st.composite
def random_mdp(draw):
    """A small MDP in Gymnasium's ``P[s][a] = [(prob, next_state, reward, terminated), ...]`` format."""
    n_states, n_actions = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    P = draw_transitions(draw, n_states, n_actions, max_reward=2)
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.95]))
    return P, gamma


def bellman_backup(P, gamma: float, V: np.ndarray) -> np.ndarray:
    """Q = R + gamma * T V in matrix form: R(s, a) the expected reward, T(s, a, s') the probability of
    reaching s' without terminating (a terminal outcome contributes its reward and nothing after it)."""
    n_states, n_actions = len(P), len(P[0])
    outcomes = [(s, a, *outcome) for s in range(n_states) for a in range(n_actions) for outcome in P[s][a]]
    s, a, p, s2, r, done = (np.array(column) for column in zip(*outcomes, strict=True))
    p, r, alive = p.astype(float), r.astype(float), ~done.astype(bool)
    expected_reward = np.bincount(s * n_actions + a, weights=p * r, minlength=n_states * n_actions)
    transitions = np.zeros((n_states * n_actions, n_states))
    np.add.at(transitions, (s * n_actions + a, s2.astype(int)), p * alive)
    return (expected_reward + gamma * transitions @ np.asarray(V, dtype=float)).reshape(n_states, n_actions)


def unpack_vi(prop: str, text: str, result, n_states: int, n_actions: int) -> tuple[np.ndarray, np.ndarray]:
    result = as_tuple(prop, text, result, ("V", "Q"))
    V = as_array(prop, text, result[0], shape=(n_states,), what="V")
    Q = as_array(prop, text, result[1], shape=(n_states, n_actions), what="Q")
    return V, Q


@check("value_iteration_bellman")
def check_value_iteration_bellman(value_iteration: Callable) -> str:
    """On random MDPs, V and Q satisfy the Bellman optimality equations (so V is the unique V*)."""
    prop = "V(s) = max_a Q(s, a) and Q(s, a) = sum_s' p (r + gamma V(s') [not terminated])"

    def body(mdp):
        P, gamma = mdp
        text = describe_mdp(P, gamma)
        V, Q = unpack_vi(prop, text, call_student(prop, text, value_iteration, P, gamma),
                         len(P), len(P[0]))
        backup = bellman_backup(P, gamma, V)
        if not np.allclose(Q, backup, atol=1e-6):
            fail(prop, text, f"Q = backup of V = {show(backup)}", show(Q), "Q(s, a) sums p * (r + gamma * V[s']) "
                 "over the outcomes; use 0 instead of V[s'] when terminated")
        if not np.allclose(V, Q.max(axis=1), atol=1e-6):
            fail(prop, text, f"V = max over actions of Q = {show(Q.max(axis=1))}", show(V),
                 "the optimal value takes the best action (max), not the average")

    for_all(random_mdp(), body, max_examples=80)
    return "80 random MDPs"


@check("value_iteration_frozenlake")
def check_value_iteration_frozenlake(value_iteration: Callable) -> str:
    """On FrozenLake 4x4 (gamma 0.99) V matches the known optimum and its greedy policy is optimal."""
    prop = "value_iteration finds FrozenLake's optimal values (gamma=0.99)"
    env = make_frozenlake()
    text = "P = FrozenLake-v1 4x4 slippery env.unwrapped.P, gamma=0.99"
    V, Q = unpack_vi(prop, text, call_student(prop, text, value_iteration, env.unwrapped.P, 0.99), 16, 4)
    if not np.allclose(V, FROZENLAKE_V_STAR, atol=1e-4):
        fail(prop, text, FROZENLAKE_V_STAR.reshape(4, 4), V.reshape(4, 4),
             "iterate until the largest change is below tol; holes and the goal are terminal (value 0)")
    success = policy_success_probability(env, Q.argmax(axis=1))
    if success < 0.74:
        fail(prop, text, "a greedy policy with success probability 0.740", f"{success:.3f}",
             "Q must be consistent with V: Q(s, a) = sum p (r + gamma V(s'))")
    return f"greedy success probability {success:.3f}"


# ---------------------------------------------------------------------------------------------------------
# shape_reward
# ---------------------------------------------------------------------------------------------------------
@check("shape_reward")
def check_shape_reward(shape_reward: Callable) -> str:
    """-1 for ending in a hole (terminated without reward); other rewards unchanged; time-outs not punished."""
    prop = "shape_reward gives -1 for falling into a hole and leaves every other reward unchanged"
    cases = [((0.0, True), -1.0, "terminating with reward 0 means falling into a hole"),
             ((1.0, True), 1.0, "reaching the goal keeps its reward"),
             ((0.0, False), 0.0, "an ordinary step (or a time-out: terminated=False) is not punished"),
             ((1.0, False), 1.0, "a reward on a non-terminal step is kept")]
    for (reward, terminated), expected, hint in cases:
        text = f"reward={reward}, terminated={terminated}"
        got = as_number(prop, text, call_student(prop, text, shape_reward, reward, terminated), what="a float",
                        hint="return a number")
        if got != expected:
            fail(prop, text, expected, got, hint)
    return "4 cases"


# ---------------------------------------------------------------------------------------------------------
# train_q_learning
# ---------------------------------------------------------------------------------------------------------
def lake(desc: tuple[str, ...], slippery: bool = True) -> gym.Env:
    """FrozenLake-v1 on the map ``desc`` (rows of S, F, H, G), with the course's 100-step limit."""
    return gym.make("FrozenLake-v1", desc=list(desc), is_slippery=slippery, max_episode_steps=100)


def lake_text(desc: tuple[str, ...] | None, slippery: bool = True) -> str:
    return f"FrozenLake {'4x4' if desc is None else '/'.join(desc)} {'slippery' if slippery else 'not slippery'}"


def run_training(prop: str, train: Callable, env: gym.Env, n_episodes: int, seed: int, *, alpha=0.1,
                 gamma=0.99, epsilon_start=1.0, epsilon_end=0.01, decay_fraction=0.5, timeout=240.0,
                 lake_name: str = lake_text(None)):
    text = (f"train_q_learning({lake_name}, n_episodes={n_episodes}, alpha={alpha}, gamma={gamma}, "
            f"epsilon_start={epsilon_start}, epsilon_end={epsilon_end}, decay_fraction={decay_fraction}, "
            f"seed={seed})")
    result = call_student(prop, text, with_timeout(train, timeout), env, n_episodes, alpha, gamma,
                          epsilon_start, epsilon_end, decay_fraction, seed)
    result = as_tuple(prop, text, result, ("q_table", "episode_returns"))
    n_states, n_actions = env.observation_space.n, env.action_space.n
    q = as_array(prop, text, result[0], shape=(n_states, n_actions), what="q_table")
    returns = as_array(prop, text, result[1], shape=(n_episodes,), what="episode_returns (one per episode)")
    return q, returns, text


@check("train_q_learning_interface")
def check_train_q_learning_interface(train_q_learning: Callable) -> str:
    """Shapes, one return per episode, returns in {0, 1}, and the same seed gives the same result."""
    prop = "train_q_learning returns (q_table, episode_returns) and is reproducible for a fixed seed"
    env = make_frozenlake()
    q1, returns1, text = run_training(prop, train_q_learning, env, 300, seed=3, epsilon_end=0.1)
    if not np.all(np.isin(returns1, (0.0, 1.0))):
        fail(prop, text, "undiscounted FrozenLake returns, each 0 or 1", show(np.unique(returns1)),
             "record the sum of the environment's rewards per episode (no shaping, no discount)")
    q2, returns2, _ = run_training(prop, train_q_learning, env, 300, seed=3, epsilon_end=0.1)
    if not (np.array_equal(q1, q2) and np.array_equal(returns1, returns2)):
        fail(prop, text + ", run twice", "identical results", "different results",
             "create the Generator with np.random.default_rng(seed) and call env.reset(seed=seed) on the first "
             "episode; use no unseeded randomness")
    learns_from_the_lake_it_is_given(train_q_learning)
    return f"300 episodes, twice; {TINY_EPISODES} episodes on {len(TINY_LAKES)} tiny lakes"


def learns_from_the_lake_it_is_given(train_q_learning: Callable) -> None:
    """On tiny lakes without slipping, the table's greedy action from the start steps onto the goal: a table
    that was not learned by acting in ``env`` (one computed for another lake, say) points elsewhere."""
    for desc, action, name in TINY_LAKES:
        prop = (f"train_q_learning learns from the environment it is given: on the lake {'/'.join(desc)} (not "
                f"slippery) the greedy action from the start S is {name}, onto the goal")
        q, returns, text = run_training(prop, train_q_learning, lake(desc, slippery=False), TINY_EPISODES, seed=5,
                                        epsilon_end=0.1, lake_name=lake_text(desc, slippery=False))
        start = "".join(desc).index("S")
        if not np.all(q[start, action] > np.delete(q[start], action)):
            fail(prop, text, f"Q[{start}, {action}] ({name}) above every other action of the start state {start}",
                 f"Q[{start}] = {show(q[start])} (mean training return {returns.mean():.2f})",
                 "train on the env you are given (reset and step it), with its own numbers of states and actions")


@check("q_learning_learns")
def check_q_learning_learns(train_q_learning: Callable) -> str:
    """On the lake and on its mirror image, the greedy policy of the table learned there succeeds with exact
    probability >= 0.70 (optimum 0.744 on both; the reference reaches 0.740 on both, on this seed and ten
    others). A table computed for the course's lake and returned whatever the env reaches 0.000 on the
    mirror image (tests/corpus, ``train_returns_a_precomputed_table``)."""
    prop = (f"after {LEARNING_EPISODES} episodes the greedy policy reaches the goal with probability >= "
            f"{SUCCESS_THRESHOLD} (exact, from the model; the best possible is {FROZENLAKE_OPTIMAL_SUCCESS}), on "
            "the lake and on its mirror image")
    found = []
    for desc in (None, MIRRORED_MAP):
        env = make_frozenlake() if desc is None else lake(desc)
        q, returns, text = run_training(prop, train_q_learning, env, LEARNING_EPISODES, seed=GRADING_SEED,
                                        lake_name=lake_text(desc))
        if desc is None:
            learning_curve(returns, reference=FROZENLAKE_OPTIMAL_SUCCESS, reference_label="best possible success "
                           "rate")
        success = policy_success_probability(env, q.argmax(axis=1))
        if success < SUCCESS_THRESHOLD:
            fail(prop, text, f"success probability >= {SUCCESS_THRESHOLD}", f"{success:.3f} (mean training "
                 f"return {returns.mean():.3f})", "decay epsilon linearly from epsilon_start to epsilon_end over "
                 "decay_fraction * n_episodes episodes, bootstrap unless terminated, update every step, and "
                 "learn from the env you are given (the check also uses the lake's mirror image)")
        found.append(f"{success:.3f}")
    return f"success probability {' and '.join(found)} on the lake and its mirror image, of optimum " \
           f"{FROZENLAKE_OPTIMAL_SUCCESS}"
