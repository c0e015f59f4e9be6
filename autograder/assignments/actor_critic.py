"""Checks for assignment 6, actor-critic methods (Q actor-critic, A2C, TD actor-critic, GAE) on CartPole-v1.

Every check tests a property any correct solution has. Expected values come from definitions: the policy
gradient of a softmax policy by enumerating its actions, exact V and Q of small MDPs from the Bellman
equations (a linear solve), GAE as the explicit sum of discounted TD errors within an episode, and the true
values of probe environments in closed form. Loss gradients are observed without trusting the student's
graph code: a loss is linear in the log-probabilities, so its gradient with respect to them is read off
exactly from loss values; gradients into networks are read from the student's own modules.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch
from hypothesis import strategies as st

from autograder.assignments.fixtures.actor_critic import ONE_STEP_ID, PROBE_OBS, TRUNCATED_ID
from autograder.toolkit.checks import check, learning_curve
from autograder.toolkit.framework import (
    Hints,
    as_array,
    as_scalar,
    as_tuple,
    call_student,
    fail,
    for_all,
    gradients,
    had_grad_fn,
    mlp_parameter_count,
    nonzero_gradients,
    parameter_count,
    remote,
    show,
    with_timeout,
)
from autograder.toolkit.mdp import describe_mdp, draw_transitions

FOLDER = "06_actor_critic"  # under source/ and release/ (the assignment's id is this module's name)
CONTRACT = ("ValueNetwork", "q_actor_critic_loss", "mc_advantages", "td_advantages", "gae", "actor_loss",
            "critic_loss", "train_a2c")
# A training run another graded cell already made with the same arguments is shared, not repeated.
SHARED_RUNS = ("train_a2c",)
SANDBOX_OPTIONS = {"call_timeout": 30.0}

GRADING_SEED = 20210711
LEARNING_STEPS = 200_000
LEARNING_ENVS = 8
LEARNING_CONFIG = {"n_steps": 8, "gamma": 0.99, "gae_lambda": 0.95, "learning_rate": 3e-3, "value_coef": 0.5,
                   "entropy_coef": 0.0, "max_grad_norm": 0.5, "hidden_sizes": (64, 64)}
SOLVED_RETURN = 475.0
EVAL_EPISODES = 20
EVAL_SEED = 777_000
PROBE_CONFIG = {"n_steps": 8, "gamma": 0.5, "gae_lambda": 0.95, "learning_rate": 3e-3, "value_coef": 0.5,
                "entropy_coef": 0.0, "max_grad_norm": 0.5, "hidden_sizes": (16,)}
PROBE_STEPS = 8000


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------
def t64(values) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=torch.float64)


# What a failure of as_scalar advises about a loss: it must stay a torch tensor, to call backward on it.
HINTS = Hints(type="return a tensor, not a number: keep the computation in torch (no .item()) so that backward "
              "can be called on it", size="reduce with .mean() over all entries")


def loss_coefficients(prop: str, text: str, loss_fn: Callable, log_probs: np.ndarray) -> np.ndarray:
    """d loss / d log_probs[i] for a loss that is linear in the log-probabilities, read off exactly from loss
    values: c_i = L(log_probs + e_i) - L(log_probs)."""
    base = as_scalar(prop, text, call_student(prop, text, loss_fn, t64(log_probs)), "the loss", tensor=True,
                     hints=HINTS)
    coefficients = np.zeros(len(log_probs))
    for i in range(len(log_probs)):
        shifted = log_probs.copy()
        shifted[i] += 1.0
        loss = as_scalar(prop, text, call_student(prop, text, loss_fn, t64(shifted)), "the loss", tensor=True,
                         hints=HINTS)
        coefficients[i] = loss - base
    return coefficients


def softmax_jacobian(logits: np.ndarray) -> np.ndarray:
    """J[a, j] = d log softmax(logits)[a] / d logits[j] = [a == j] - pi(j)."""
    pi = np.exp(logits - logits.max())
    pi /= pi.sum()
    return np.eye(len(logits)) - pi[None, :]


def softmax(logits: np.ndarray) -> np.ndarray:
    pi = np.exp(logits - logits.max())
    return pi / pi.sum()


def grads_of(prop: str, text: str, module) -> dict:
    try:
        return gradients(module)
    except Exception as error:  # noqa: BLE001 - the student's object may not be a torch module
        fail(prop, text, "a torch.nn.Module", f"{type(error).__name__}: {error}", "subclass torch.nn.Module")


def make_value_net(prop: str, ValueNetwork, obs_dim: int, hidden_sizes: tuple = (16,)):  # noqa: N803
    text = f"ValueNetwork({obs_dim}, hidden_sizes={hidden_sizes})"
    net = call_student(prop, text, ValueNetwork, obs_dim, hidden_sizes)
    return net, text


def net_output(prop: str, text: str, net, obs: torch.Tensor) -> torch.Tensor:
    out = call_student(prop, text, net, obs)
    as_array(prop, text, out, shape=(obs.shape[0],), what="values, one per observation", tensor=True)
    return out


# ---------------------------------------------------------------------------------------------------------
# ValueNetwork
# ---------------------------------------------------------------------------------------------------------
@check("value_network")
def check_value_network(ValueNetwork) -> str:  # noqa: N803 - the contract's class name
    """One value per observation, for any leading batch shape; an MLP of the requested sizes with biases."""
    prop = ("ValueNetwork(obs_dim, hidden_sizes) is a fully connected network obs_dim -> *hidden_sizes -> 1 "
            "returning one value per observation")
    generator = torch.Generator().manual_seed(0)
    for obs_dim, hidden in ((4, None), (3, (32, 16)), (5, ())):
        text = f"ValueNetwork({obs_dim})" if hidden is None else f"ValueNetwork({obs_dim}, hidden_sizes={hidden})"
        net = call_student(prop, text, ValueNetwork, *((obs_dim,) if hidden is None else (obs_dim, hidden)))
        hidden = (64,) if hidden is None else hidden
        obs = torch.randn(7, obs_dim, generator=generator)
        out = call_student(prop, text + " applied to a batch of 7 observations", net, obs)
        as_array(prop, text + " on obs of shape (7, obs_dim)", out, shape=(7,), what="values of shape (7,)",
                 tensor=True)
        grid = call_student(prop, text, net, torch.randn(3, 2, obs_dim, generator=generator))
        as_array(prop, text + " on obs of shape (3, 2, obs_dim) (a rollout: steps x envs)", grid, shape=(3, 2),
                 what="values of shape (3, 2)", tensor=True)
        count = parameter_count(prop, text, net)
        expected = mlp_parameter_count([obs_dim, *hidden, 1])
        if count != expected:
            fail(prop, text, f"{expected} parameters (Linear layers with biases: {obs_dim} -> "
                 f"{' -> '.join(map(str, hidden))}{' -> ' if hidden else ''}1)", f"{count} parameters",
                 "build one nn.Linear per hidden size, an activation after each, and a final nn.Linear(.., 1)")
        if not had_grad_fn(out):
            fail(prop, text, "values attached to the network's graph", "a detached tensor",
                 "do not use torch.no_grad() or .detach() in forward: the critic is trained through them")
        remote(call_student(prop, text, remote(out).sum)).backward()
        grads = grads_of(prop, text, net)
        missing = [name for name, g in grads.items() if g is None]
        if missing:
            fail(prop, text, "a gradient in every parameter after values.sum().backward()",
                 f"no gradient in {missing}", "every layer must be used in forward")
    return "3 architectures"


# ---------------------------------------------------------------------------------------------------------
# Baselines: the expected policy gradient of a softmax policy, by enumerating its actions
# ---------------------------------------------------------------------------------------------------------
def expected_loss_gradient(prop: str, text: str, loss_fn: Callable, logits: np.ndarray) -> np.ndarray:
    """E_{a ~ pi}[grad_logits loss(a)] for a loss over a batch holding every action once: entry a of the batch
    stands for the single-sample loss of action a, so its weight is n * d loss / d log_prob[a]."""
    pi = softmax(logits)
    n = len(logits)
    coefficients = loss_coefficients(prop, text, loss_fn, np.log(pi))
    return softmax_jacobian(logits).T @ (pi * n * coefficients), pi * n * coefficients


@st.composite
def softmax_state(draw):
    n = draw(st.integers(2, 5))
    logits = np.array(draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n)), dtype=float) / 2
    q = np.array(draw(st.lists(st.integers(-10, 10), min_size=n, max_size=n)), dtype=float)
    baseline = float(draw(st.integers(-20, 20)))
    return logits, q, baseline


def describe_state(logits, q, baseline) -> str:
    return (f"one state, softmax policy with logits {show(logits)} (pi = {show(softmax(logits))}), "
            f"Q(s, .) = {show(q)}, baseline b(s) = {baseline}; the batch holds every action once")


def a2c_actor(mc_advantages: Callable, actor_loss: Callable, prop: str, text: str, q: np.ndarray,
              baseline: float) -> Callable:
    advantages = call_student(prop, text, mc_advantages, t64(q), t64(np.full(len(q), baseline)))
    as_array(prop, text, advantages, shape=(len(q),), what="advantages, one per sample", tensor=True)
    entropy = t64(np.zeros(len(q)))
    return lambda log_probs: actor_loss(log_probs, advantages, entropy, 0.0)


@check("baseline_unbiased")
def check_baseline_unbiased(q_actor_critic_loss: Callable, mc_advantages: Callable, actor_loss: Callable) -> str:
    """E_a[(Q - b) grad log pi] = E_a[Q grad log pi] = grad sum_a pi(a) Q(a) for every state-dependent b."""
    prop = ("descending the actor loss follows the true policy gradient, with and without a state-dependent "
            "baseline: E_a~pi[(Q(s,a) - b(s)) grad log pi(a|s)] = E_a~pi[Q(s,a) grad log pi(a|s)]")

    def body(case):
        logits, q, baseline = case
        text = describe_state(logits, q, baseline)
        pi = softmax(logits)
        true_gradient = softmax_jacobian(logits).T @ (pi * q)  # gradient of sum_a pi(a) Q(a) w.r.t. the logits
        def q_loss(log_probs):
            return q_actor_critic_loss(log_probs, t64(q))

        grad_q, _ = expected_loss_gradient(prop, "q_actor_critic_loss: " + text, q_loss, logits)
        if not np.allclose(-grad_q, true_gradient, atol=1e-4):
            fail(prop, "q_actor_critic_loss(log_probs, q_values): " + text,
                 f"-E[grad loss] = {show(true_gradient)}", show(-grad_q),
                 "the loss is -mean(log_probs * q_values): minimising it raises the log-probability of actions "
                 "with large Q")
        a2c = a2c_actor(mc_advantages, actor_loss, prop, text, q, baseline)
        grad_b, _ = expected_loss_gradient(prop, "actor_loss(log_probs, mc_advantages(Q, b), 0, 0): " + text,
                                           a2c, logits)
        if not np.allclose(grad_b, grad_q, atol=1e-4):
            fail(prop, "actor_loss(log_probs, mc_advantages(returns=Q, values=b), entropy=0, "
                 "entropy_coef=0): " + text, f"the same expected gradient as without baseline: {show(-grad_q)}",
                 show(-grad_b), "the advantage is returns - values, and the actor loss is "
                 "-mean(log_probs * advantages); a baseline may depend on the state only, never on the action "
                 "or its return")

    for_all(softmax_state(), body, max_examples=40)
    return "40 softmax policies"


@check("slides_baseline_example")
def check_slides_baseline_example(q_actor_critic_loss: Callable, mc_advantages: Callable,
                                  actor_loss: Callable) -> str:
    """The slides' example: pi = (0.2, 0.5, 0.3), Q = (6, 7, 8), b = 7; the weights of grad log pi(a) in the
    expected gradient are (1.2, 3.5, 2.4) without and (-0.2, 0, 0.3) with the baseline."""
    prop = ("in the slides' example the expected gradient weighs grad log pi(a|s) by pi(a) Q(s,a) without "
            "baseline and by pi(a) (Q(s,a) - b(s)) with baseline b = 7")
    logits = np.log(np.array([0.2, 0.5, 0.3]))
    q = np.array([6.0, 7.0, 8.0])
    text = describe_state(logits, q, 7.0)
    _, weights = expected_loss_gradient(prop, text, lambda lp: q_actor_critic_loss(lp, t64(q)), logits)
    if not np.allclose(-weights, [1.2, 3.5, 2.4], atol=1e-4):
        fail(prop, "q_actor_critic_loss: " + text, "weights (1.2, 3.5, 2.4)", show(-weights),
             "loss = -mean(log_probs * q_values)")
    _, weights = expected_loss_gradient(prop, text, a2c_actor(mc_advantages, actor_loss, prop, text, q, 7.0),
                                        logits)
    if not np.allclose(-weights, [-0.2, 0.0, 0.3], atol=1e-4):
        fail(prop, "actor_loss(log_probs, mc_advantages(Q, 7), 0, 0): " + text, "weights (-0.2, 0, 0.3)",
             show(-weights), "advantages = returns - values; actor loss = -mean(log_probs * advantages)")
    return "weights (1.2, 3.5, 2.4) and (-0.2, 0, 0.3)"


# ---------------------------------------------------------------------------------------------------------
# Advantages on small MDPs with exact V and Q
# ---------------------------------------------------------------------------------------------------------
@st.composite
def mdp_with_policy(draw):
    """P[s][a] = [(prob, next_state, reward, terminated), ...], a stochastic policy pi[s, a], and gamma. At least
    two actions (with one, A = 0 whatever the code) and mostly gamma > 0 (gamma = 0 never bootstraps);
    MDP_EXAMPLES adds those edge cases."""
    n_states, n_actions = draw(st.integers(1, 4)), draw(st.integers(2, 3))
    P = draw_transitions(draw, n_states, n_actions, max_reward=3)
    logits = np.array(draw(st.lists(st.integers(-3, 3), min_size=n_states * n_actions,
                                    max_size=n_states * n_actions)), dtype=float).reshape(n_states, n_actions)
    pi = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    gamma = draw(st.sampled_from([0.9, 0.5, 0.75, 0.99, 0.0]))
    return P, pi, gamma


# Explicit examples: a terminal outcome next to a state of large value (bootstrapping through it shows), one
# action, gamma = 0.
MDP_EXAMPLES = (
    ({0: {0: [(0.5, 1, 1.0, True), (0.5, 1, 0.0, False)], 1: [(1.0, 0, -1.0, False)]},
      1: {0: [(1.0, 1, 3.0, False)], 1: [(1.0, 0, 2.0, True)]}}, np.array([[0.5, 0.5], [0.8, 0.2]]), 0.9),
    ({0: {0: [(1.0, 0, 1.0, False)]}, 1: {0: [(1.0, 0, -2.0, True)]}}, np.ones((2, 1)), 0.5),
    ({0: {0: [(1.0, 0, 1.5, False)], 1: [(1.0, 0, -1.0, True)]}}, np.array([[0.25, 0.75]]), 0.0),
)


def exact_values(P, pi: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """V^pi by solving the Bellman expectation equation, then Q^pi by one backup of it."""
    n_states, n_actions = pi.shape
    transition = np.zeros((n_states, n_states))
    reward = np.zeros(n_states)
    for s in range(n_states):
        for a in range(n_actions):
            for prob, s_next, r, terminated in P[s][a]:
                reward[s] += pi[s, a] * prob * r
                if not terminated:
                    transition[s, s_next] += pi[s, a] * prob
    V = np.linalg.solve(np.eye(n_states) - gamma * transition, reward)
    Q = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, s_next, r, terminated in P[s][a]:
                Q[s, a] += prob * (r + (0.0 if terminated else gamma * V[s_next]))
    return V, Q


@check("mdp_advantages")
def check_mdp_advantages(mc_advantages: Callable, td_advantages: Callable) -> str:
    """With exact V^pi and Q^pi: E_a~pi[A(s, a)] = 0 and E_s'[TD advantage | s, a] = Q(s, a) - V(s)."""
    prop = ("with the exact V and Q of a policy, the advantage Q(s,a) - V(s) averages to 0 under the policy, "
            "and the expected TD advantage r + gamma V(s') [not terminated] - V(s) equals Q(s,a) - V(s)")

    def body(case):
        P, pi, gamma = case
        text = describe_mdp(P, gamma, pi)
        V, Q = exact_values(P, pi, gamma)
        n_states, n_actions = pi.shape
        states = np.repeat(np.arange(n_states), n_actions)
        advantages = call_student(prop, text, mc_advantages, t64(Q.reshape(-1)), t64(V[states]))
        advantages = as_array(prop, "mc_advantages(returns=Q(s,a), values=V(s)) on " + text, advantages,
                              shape=(n_states * n_actions,), what="advantages", tensor=True)
        advantages = advantages.reshape(n_states, n_actions)
        mean_advantage = (pi * advantages).sum(axis=1)
        if not np.allclose(mean_advantage, 0.0, atol=1e-4):
            fail(prop, "mc_advantages(returns=Q^pi(s,a), values=V^pi(s)) for every (s, a) of " + text,
                 "sum_a pi(a|s) A(s,a) = 0 in every state", f"{show(mean_advantage)}",
                 "the advantage is returns - values (nothing else)")
        rows = [(s, a, prob, s_next, r, term) for s in range(n_states) for a in range(n_actions)
                for prob, s_next, r, term in P[s][a]]
        rewards = t64([r for *_, r, _ in rows])
        values = t64([V[s] for s, *_ in rows])
        next_values = t64([V[s_next] for _, _, _, s_next, _, _ in rows])
        terminated = t64([float(term) for *_, term in rows])
        td_text = "td_advantages(r, V(s), V(s'), terminated, gamma) for every outcome of " + text
        td = call_student(prop, td_text, td_advantages, rewards, values, next_values, terminated, gamma)
        td = as_array(prop, td_text, td, shape=(len(rows),), what="TD advantages", tensor=True)
        expected_td = np.zeros((n_states, n_actions))
        for (s, a, prob, *_), delta in zip(rows, td, strict=True):
            expected_td[s, a] += prob * delta
        if not np.allclose(expected_td, Q - V[:, None], atol=1e-4):
            fail(prop, td_text, f"E[TD advantage | s, a] = Q - V = {show(Q - V[:, None])}",
                 show(expected_td), "r + gamma * V(s') - V(s), with no gamma * V(s') when terminated")

    for_all(mdp_with_policy(), body, max_examples=60, examples=MDP_EXAMPLES)
    return f"{60 + len(MDP_EXAMPLES)} MDPs"


# ---------------------------------------------------------------------------------------------------------
# GAE over a rollout of shape (steps, n_envs)
# ---------------------------------------------------------------------------------------------------------
@st.composite
def rollout(draw, lambdas=(0.0, 0.5, 0.9, 1.0)):
    """A (steps, n_envs) rollout of 2-6 steps with an episode end (terminated or truncated, drawn) at a step
    before the last, so that cutting the recursion there is tested; ROLLOUT_EXAMPLES adds a one-step
    rollout and one without any end."""
    steps, n_envs = draw(st.integers(2, 6)), draw(st.integers(1, 3))
    grid = st.lists(st.integers(-6, 6), min_size=steps * n_envs, max_size=steps * n_envs)
    rewards = np.array(draw(grid), dtype=float).reshape(steps, n_envs) / 2
    values = np.array(draw(grid), dtype=float).reshape(steps, n_envs) / 2
    last_values = np.array(draw(st.lists(st.integers(-6, 6), min_size=n_envs, max_size=n_envs)), dtype=float)
    ends = np.array(draw(st.lists(st.sampled_from([0, 0, 0, 1, 2]), min_size=steps * n_envs,
                                  max_size=steps * n_envs))).reshape(steps, n_envs)
    ends[draw(st.integers(0, steps - 2)), draw(st.integers(0, n_envs - 1))] = draw(st.sampled_from([1, 2]))
    gamma = draw(st.sampled_from([0.5, 0.9, 0.99]))
    lam = draw(st.sampled_from(lambdas))
    return rewards, values, last_values, (ends == 1).astype(float), (ends == 2).astype(float), gamma, lam


def rollout_example(rewards, values, last_values, ends, gamma, lam) -> tuple:
    """An explicit rollout in the strategy's form; ``ends``: 0 running, 1 terminated, 2 truncated."""
    ends = np.array(ends)
    return (np.array(rewards, dtype=float), np.array(values, dtype=float), np.array(last_values, dtype=float),
            (ends == 1).astype(float), (ends == 2).astype(float), gamma, lam)


# Explicit examples: one step; no episode end; a termination and a truncation in the middle of two envs.
ROLLOUT_EXAMPLES = (
    rollout_example([[1.0, -0.5]], [[0.5, 2.0]], [3.0, -1.0], [[0, 1]], 0.9, 0.0),
    rollout_example([[1.0], [0.5], [-1.0]], [[0.5], [1.0], [2.0]], [4.0], [[0], [0], [0]], 0.99, 0.0),
    rollout_example([[1.0, 1.0], [0.0, 2.0], [1.5, -1.0], [0.5, 0.5]], [[1.0, -1.0], [2.0, 0.5], [-2.0, 3.0],
                    [1.0, 1.0]], [2.5, -3.0], [[0, 0], [1, 2], [0, 0], [2, 1]], 0.9, 0.0),
)


def describe_rollout(rewards, values, last_values, terminated, truncated, gamma, lam) -> str:
    def grid(a):
        return show(a).replace("\n            ", " ")
    return (f"rollout (steps x envs): rewards={grid(rewards)}, values={grid(values)}, "
            f"last_values={grid(last_values)}, terminated={grid(terminated)}, truncated={grid(truncated)}, "
            f"gamma={gamma}, lam={lam}")


def next_values_of(values, last_values):
    return np.vstack([values[1:], last_values[None, :]])


def td_errors(rewards, values, last_values, terminated, gamma):
    """delta_t = r_t + gamma V(next obs) [not terminated] - V_t; the next obs of a truncated step is its
    final observation, whose value is the next row's (Gymnasium's next-step autoreset)."""
    return rewards + gamma * (1 - terminated) * next_values_of(values, last_values) - values


def gae_by_definition(rewards, values, last_values, terminated, truncated, gamma, lam):
    """A_t = sum_k (gamma lam)^k delta_{t+k}, summed up to the end of t's episode or of the rollout."""
    deltas = td_errors(rewards, values, last_values, terminated, gamma)
    steps, n_envs = rewards.shape
    advantages = np.zeros_like(rewards)
    for e in range(n_envs):
        for t in range(steps):
            for k in range(steps - t):
                advantages[t, e] += (gamma * lam) ** k * deltas[t + k, e]
                if terminated[t + k, e] or truncated[t + k, e]:
                    break
    return advantages


def monte_carlo_advantages(rewards, values, last_values, terminated, truncated, gamma):
    """Discounted reward-to-go within the episode, bootstrapped with V only where the episode was cut
    (truncated, or the rollout ended), minus V_t."""
    nexts = next_values_of(values, last_values)
    steps, n_envs = rewards.shape
    returns = np.zeros_like(rewards)
    for e in range(n_envs):
        for t in range(steps):
            total, discount = 0.0, 1.0
            for j in range(t, steps):
                total += discount * rewards[j, e]
                discount *= gamma
                if terminated[j, e]:
                    break
                if truncated[j, e] or j == steps - 1:
                    total += discount * nexts[j, e]
                    break
            returns[t, e] = total
    return returns - values


def run_gae(prop: str, gae: Callable, case) -> tuple[np.ndarray, np.ndarray, str]:
    rewards, values, last_values, terminated, truncated, gamma, lam = case
    text = describe_rollout(*case)
    result = call_student(prop, text, gae, t64(rewards), t64(values), t64(last_values), t64(terminated),
                          t64(truncated), gamma, lam)
    result = as_tuple(prop, text, result, ("advantages", "returns"))
    advantages = as_array(prop, text, result[0], shape=rewards.shape, what="advantages of shape (steps, n_envs)",
                          tensor=True)
    returns = as_array(prop, text, result[1], shape=rewards.shape, what="returns of shape (steps, n_envs)", tensor=True)
    if not np.allclose(returns, advantages + values, atol=1e-4):
        fail(prop, text, f"returns = advantages + values = {show(advantages + values)}", show(returns),
             "the critic's targets are the advantages plus the values the advantages were computed from")
    return advantages, returns, text


@check("gae_lambda_limits")
def check_gae_lambda_limits(gae: Callable) -> str:
    """lambda = 0 gives the one-step TD errors; lambda = 1 the Monte Carlo advantages (reward-to-go - V)."""
    prop = "GAE with lambda=0 equals the TD errors and with lambda=1 the Monte Carlo advantages"

    def body(case):
        rewards, values, last_values, terminated, truncated, gamma, _ = case
        for lam in (0.0, 1.0):
            limit = (rewards, values, last_values, terminated, truncated, gamma, lam)
            advantages, _, text = run_gae(prop, gae, limit)
            if lam == 0.0:
                expected = td_errors(rewards, values, last_values, terminated, gamma)
                hint = ("with lambda=0, A_t = r_t + gamma * V(next) - V_t, where V(next) is values[t+1] (or "
                        "last_values at the last step) and is dropped only when terminated[t]")
            else:
                expected = monte_carlo_advantages(rewards, values, last_values, terminated, truncated, gamma)
                hint = ("with lambda=1, A_t is the discounted sum of rewards to the end of the episode, plus "
                        "gamma^k V where the episode was truncated or the rollout ended, minus V_t")
            if not np.allclose(advantages, expected, atol=1e-4):
                fail(prop, text, show(expected), show(advantages), hint)

    for_all(rollout(lambdas=(0.0,)), body, max_examples=80, examples=ROLLOUT_EXAMPLES)
    return f"{80 + len(ROLLOUT_EXAMPLES)} rollouts"


@check("gae_episode_boundaries")
def check_gae_episode_boundaries(gae: Callable) -> str:
    """A_t = sum_k (gamma lam)^k delta_{t+k} within t's episode: terminated cuts the bootstrap and the
    recursion, truncated bootstraps from the final observation's value but cuts the recursion."""
    prop = ("GAE sums (gamma lam)^k delta_{t+k} only within the episode: a terminated step neither bootstraps "
            "nor passes on later advantages; a truncated step bootstraps but passes nothing on")
    # A hand-made case first: env 0 terminates at step 1, env 1 is truncated at step 1.
    rewards = np.ones((3, 2))
    values = np.array([[1.0, 1.0], [2.0, 2.0], [10.0, 10.0]])
    terminated = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    truncated = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    cases = [(rewards, values, np.array([3.0, 3.0]), terminated, truncated, 0.9, 0.5)]

    def body(case):
        advantages, _, text = run_gae(prop, gae, case)
        expected = gae_by_definition(*case)
        if not np.allclose(advantages, expected, atol=1e-4):
            wrong = np.argwhere(~np.isclose(advantages, expected, atol=1e-4))[0]
            t, e = int(wrong[0]), int(wrong[1])
            terminated_, truncated_ = case[3], case[4]
            if terminated_[t, e]:
                hint = "at a terminated step there is no next value and no later advantage: A_t = r_t - V_t"
            elif truncated_[t, e]:
                hint = ("at a truncated step, bootstrap from values[t+1] (the value of the episode's final "
                        "observation) but do not add later advantages: they belong to the next episode")
            else:
                hint = ("A_t = delta_t + gamma * lam * A_{t+1}, with A_{t+1} replaced by 0 when step t ended its "
                        "episode (terminated or truncated)")
            fail(prop, text, show(expected), show(advantages), f"first wrong entry [{t}, {e}]: {hint}")

    for case in cases:
        body(case)
    examples = tuple(case[:-1] + (0.9,) for case in ROLLOUT_EXAMPLES)
    for_all(rollout(lambdas=(0.5, 0.9, 0.95)), body, max_examples=80, examples=examples)
    return f"1 hand-made + {80 + len(examples)} rollouts"


# ---------------------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------------------
@st.composite
def loss_batch(draw):
    n = draw(st.integers(1, 8))
    floats = st.lists(st.integers(-8, 8), min_size=n, max_size=n)
    log_probs = -np.abs(np.array(draw(floats), dtype=float)) / 4
    advantages = np.array(draw(floats), dtype=float) / 2
    entropy = np.abs(np.array(draw(floats), dtype=float)) / 8
    coef = draw(st.sampled_from([0.1, 0.5, 0.01, 0.0]))
    return log_probs, advantages, entropy, coef


@check("actor_loss_value")
def check_actor_loss_value(actor_loss: Callable) -> str:
    """actor_loss = -mean(log_probs * advantages) - entropy_coef * mean(entropy), for 1-D and 2-D batches."""
    prop = "actor_loss = -mean(log_probs * advantages) - entropy_coef * mean(entropy)"

    def body(case):
        log_probs, advantages, entropy, coef = case
        for shape in ((len(log_probs),), (1, len(log_probs))):
            text = (f"log_probs={show(log_probs.reshape(shape))}, advantages={show(advantages.reshape(shape))}, "
                    f"entropy={show(entropy.reshape(shape))}, entropy_coef={coef}")
            got = as_scalar(prop, text, call_student(prop, text, actor_loss, t64(log_probs.reshape(shape)),
                                                     t64(advantages.reshape(shape)), t64(entropy.reshape(shape)),
                                                     coef), "the loss", tensor=True, hints=HINTS)
            expected = -np.mean(log_probs * advantages) - coef * np.mean(entropy)
            if not np.isclose(got, expected, atol=1e-5):
                fail(prop, text, f"{expected:.6g}", f"{got:.6g}", "minimise the negative of the advantage-"
                     "weighted log-probability (mean over all entries) and subtract the entropy bonus")

    for_all(loss_batch(), body, max_examples=60)
    return "60 batches"


def probe_nets(prop: str, ValueNetwork, count: int):  # noqa: N803
    """Small student ValueNetworks used as sources of tensors with a graph (log-probs, values, entropies)."""
    nets = []
    for _ in range(count):
        net, text = make_value_net(prop, ValueNetwork, 4)
        nets.append(net)
    return nets, text


PROBE_BATCH = torch.tensor([[0.1, -0.2, 0.3, 0.0], [1.0, 0.5, -0.5, 0.2], [-0.7, 0.1, 0.9, -1.0],
                            [0.4, 0.4, -0.1, 0.6], [0.0, -0.9, 0.2, 0.3], [0.8, -0.3, -0.6, -0.4]])


@check("actor_loss_no_critic_gradient")
def check_actor_loss_no_critic_gradient(actor_loss: Callable, ValueNetwork) -> str:  # noqa: N803
    """Advantages computed from the critic carry no gradient: backward on the actor loss leaves the critic's
    parameters without gradient, while the actor's get one."""
    prop = "the actor loss sends gradient into the actor (log_probs) but none into the critic (advantages)"
    (actor, critic), _ = probe_nets(prop, ValueNetwork, 2)
    text = ("log_probs = actor_net(obs), advantages = critic(obs) (both ValueNetwork(4, (16,)), 6 observations, "
            "attached to their graphs), entropy = zeros, entropy_coef = 0.01; then loss.backward()")
    log_probs = net_output(prop, text, actor, PROBE_BATCH)
    advantages = net_output(prop, text, critic, PROBE_BATCH)
    loss = call_student(prop, text, actor_loss, log_probs, advantages, torch.zeros(6), 0.01)
    as_scalar(prop, text, loss, "the loss", tensor=True, hints=HINTS)
    if not had_grad_fn(loss):
        fail(prop, text, "a loss attached to the actor's graph", "a detached tensor",
             "compute the loss with torch operations on log_probs; do not detach log_probs")
    call_student(prop, text, remote(loss).backward)
    critic_grads = grads_of(prop, text, critic)
    leaked = nonzero_gradients(critic_grads)
    if leaked:
        fail(prop, text, "no gradient in the critic's parameters", f"gradients in {leaked}",
             "use advantages.detach(): the advantages are fixed weights for the actor, the critic is trained "
             "only by the critic loss")
    if not nonzero_gradients(grads_of(prop, text, actor)):
        fail(prop, text, "a gradient in the actor's parameters", "none", "the loss must depend on log_probs")
    return "critic gradient 0, actor gradient > 0"


@check("entropy_bonus_sign")
def check_entropy_bonus_sign(actor_loss: Callable, ValueNetwork) -> str:  # noqa: N803
    """d actor_loss / d theta through the entropy equals -entropy_coef * d mean(entropy) / d theta: descending
    the loss increases the entropy."""
    prop = "the entropy bonus enters the loss as -entropy_coef * mean(entropy), so descending it raises entropy"
    (entropy_net,), _ = probe_nets(prop, ValueNetwork, 1)
    coef = 0.1
    text = ("log_probs and advantages fixed (no graph), entropy = entropy_net(obs) for 6 observations "
            f"(entropy_net = ValueNetwork(4, (16,))), entropy_coef = {coef}; then loss.backward()")
    entropy = net_output(prop, text, entropy_net, PROBE_BATCH)
    log_probs = torch.tensor([-0.1, -0.5, -1.2, -0.3, -2.0, -0.7])
    advantages = torch.tensor([1.0, -0.5, 0.3, 2.0, -1.0, 0.1])
    loss = call_student(prop, text, actor_loss, log_probs, advantages, entropy, coef)
    as_scalar(prop, text, loss, "the loss", tensor=True, hints=HINTS)
    call_student(prop, text, remote(loss).backward)
    got = grads_of(prop, text, entropy_net)
    call_student(prop, text, entropy_net.zero_grad)
    mean_entropy = call_student(prop, text, remote(net_output(prop, text, entropy_net, PROBE_BATCH)).mean)
    call_student(prop, text, remote(mean_entropy).backward)
    reference = grads_of(prop, text, entropy_net)
    for name, g_ref in reference.items():
        g = got.get(name)
        g = torch.zeros_like(torch.as_tensor(g_ref)) if g is None else torch.as_tensor(g)
        if not torch.allclose(g, -coef * torch.as_tensor(g_ref), atol=1e-6):
            ratio = float((g * g_ref).sum() / (g_ref * g_ref).sum().clamp_min(1e-12))
            fail(prop, text, f"gradient = -{coef} x gradient of mean(entropy) (ratio -{coef})",
                 f"ratio {ratio:.4g} for parameter {name}", "subtract entropy_coef * entropy.mean(): a bonus "
                 "for entropy is a penalty on its negative; a + sign would make the policy collapse faster")
    return "gradient = -entropy_coef x grad mean(entropy)"


@check("critic_loss")
def check_critic_loss(critic_loss: Callable, ValueNetwork) -> str:  # noqa: N803
    """critic_loss = mean((values - targets)^2), and the targets are constants (semi-gradient TD)."""
    prop = "critic_loss = mean((values - targets)^2), with no gradient through the targets"

    def body(case):
        values, targets, *_ = case
        text = f"values={show(values)}, targets={show(targets)}"
        got = as_scalar(prop, text, call_student(prop, text, critic_loss, t64(values), t64(targets)), "the loss",
                        tensor=True, hints=HINTS)
        expected = float(np.mean((values - targets) ** 2))
        if not np.isclose(got, expected, atol=1e-5):
            fail(prop, text, f"{expected:.6g}", f"{got:.6g}", "the mean squared error over all entries")

    for_all(loss_batch(), lambda c: body((c[1], c[0] * 3, None)), max_examples=40)
    (critic, target_net), _ = probe_nets(prop, ValueNetwork, 2)
    text = ("values = critic(obs), targets = target_net(other obs) (both ValueNetwork(4, (16,)), 6 observations, "
            "attached to their graphs); then loss.backward()")
    values = net_output(prop, text, critic, PROBE_BATCH)
    targets = net_output(prop, text, target_net, PROBE_BATCH.flip(0) * 2.0)
    loss = call_student(prop, text, critic_loss, values, targets)
    as_scalar(prop, text, loss, "the loss", tensor=True, hints=HINTS)
    call_student(prop, text, remote(loss).backward)
    if nonzero_gradients(grads_of(prop, text, target_net)):
        fail(prop, text, "no gradient through the targets", "the targets' network got a gradient",
             "use targets.detach(): the TD target is a fixed regression target (semi-gradient)")
    if not nonzero_gradients(grads_of(prop, text, critic)):
        fail(prop, text, "a gradient in the critic", "none", "the loss must depend on values")
    return "40 batches + gradient test"


@check("q_actor_critic_loss")
def check_q_actor_critic_loss(q_actor_critic_loss: Callable, ValueNetwork) -> str:  # noqa: N803
    """q_actor_critic_loss = -mean(log_probs * q_values); the Q-critic gets no gradient from it."""
    prop = "q_actor_critic_loss = -mean(log_probs * q_values), with no gradient into the Q-critic"

    def body(case):
        log_probs, q_values, *_ = case
        text = f"log_probs={show(log_probs)}, q_values={show(q_values)}"
        got = as_scalar(prop, text, call_student(prop, text, q_actor_critic_loss, t64(log_probs), t64(q_values)),
                        "the loss", tensor=True, hints=HINTS)
        expected = float(-np.mean(log_probs * q_values))
        if not np.isclose(got, expected, atol=1e-5):
            fail(prop, text, f"{expected:.6g}", f"{got:.6g}", "the mean over the batch of -log_prob * Q")

    for_all(loss_batch(), body, max_examples=40)
    (actor, critic), _ = probe_nets(prop, ValueNetwork, 2)
    text = ("log_probs = actor_net(obs), q_values = q_critic(obs) (both ValueNetwork(4, (16,)), attached to "
            "their graphs); then loss.backward()")
    loss = call_student(prop, text, q_actor_critic_loss, net_output(prop, text, actor, PROBE_BATCH),
                        net_output(prop, text, critic, PROBE_BATCH))
    as_scalar(prop, text, loss, "the loss", tensor=True, hints=HINTS)
    call_student(prop, text, remote(loss).backward)
    if nonzero_gradients(grads_of(prop, text, critic)):
        fail(prop, text, "no gradient in the Q-critic", "the critic got a gradient",
             "use q_values.detach(): the critic is trained by its own TD loss")
    return "40 batches + gradient test"


# ---------------------------------------------------------------------------------------------------------
# train_a2c
# ---------------------------------------------------------------------------------------------------------
def run_training(prop: str, train: Callable, n_envs: int, total_steps: int, config: dict, seed: int,
                 timeout: float, env_name: str = "CartPole-v1"):
    shown = {k: v for k, v in config.items() if k != "env_id"}
    text = f"train_a2c(n_envs={n_envs}, total_steps={total_steps}, config={shown} on {env_name}, seed={seed})"
    result = call_student(prop, text, with_timeout(train, timeout), n_envs, total_steps, config, seed)
    policy, value_net, returns = as_tuple(prop, text, result, ("policy", "value_net", "episode_returns"))
    returns = as_array(prop, text, returns, what="episode_returns")
    if returns.ndim != 1:
        fail(prop, text, "a 1-D array of episode returns", f"shape {returns.shape}", "one entry per episode")
    return policy, value_net, returns, text


def policy_logits(prop: str, text: str, policy, obs: np.ndarray) -> np.ndarray:
    logits = call_student(prop, text, policy, torch.as_tensor(obs, dtype=torch.float32))
    return as_array(prop, text + f"; policy(obs of shape {obs.shape})", logits, shape=(obs.shape[0], 2),
                    what="logits of shape (batch, n_actions)", tensor=True)


@check("train_a2c_interface")
def check_train_a2c_interface(train_a2c: Callable) -> str:
    """(policy, value_net, episode_returns); CartPole returns are whole numbers in [1, 500]; same seed, same
    result."""
    prop = "train_a2c returns (policy, value_net, episode_returns) and is reproducible for a fixed seed"
    config = {**LEARNING_CONFIG, "n_steps": 8}
    obs = PROBE_BATCH[:5].numpy().astype(np.float32)
    runs = []
    for _ in range(2):
        policy, value_net, returns, text = run_training(prop, train_a2c, 2, 1024, config, 3, 120.0)
        logits = policy_logits(prop, text, policy, obs)
        values = as_array(prop, text + "; value_net(obs of shape (5, 4))",
                          call_student(prop, text, value_net, torch.as_tensor(obs)), shape=(5,), what="values",
                          tensor=True)
        if len(returns) < 5 or np.any(returns < 1) or np.any(returns > 500) or np.any(returns != np.round(returns)):
            fail(prop, text, "the undiscounted return of every finished episode (CartPole: whole numbers in "
                 "[1, 500], about 40 episodes in 1024 steps of a random policy)", show(returns),
                 "add each real step's reward to its sub-environment's running return and record it when "
                 "terminated or truncated; skip the autoreset step")
        runs.append((logits, values, returns))
    (l1, v1, r1), (l2, v2, r2) = runs
    if not (np.array_equal(l1, l2) and np.array_equal(v1, v2) and np.array_equal(r1, r2)):
        fail(prop, text + ", run twice", "identical results", "different results",
             "call torch.manual_seed(seed) before building the networks and envs.reset(seed=seed)")
    return f"{len(r1)} episodes, reproducible"


@check("critic_probe_values")
def check_critic_probe_values(train_a2c: Callable) -> str:
    """On probe environments with known values, the trained critic is right: 1 for a one-step episode (no
    bootstrap past termination, autoreset step ignored) and 1 / (1 - gamma) = 2 under truncation.

    Margins (benchmarks/learning_margins.py; the larger |V - truth| of the two probes, allowed 0.1): the
    instructor solution 0.000 (0.1 to spare); autoreset steps trained on 0.500, bootstrapping through
    termination 0.356 (0.40 and 0.26 past the tolerance)."""
    prop = ("the trained critic learns the true value on probe environments: V = 1 when every episode is one "
            "rewarded step that terminates, V = 1/(1-gamma) = 2 when episodes are only truncated (gamma = 0.5)")
    found = []
    for env_id, name, truth, hint in (
            (ONE_STEP_ID, "OneStepProbe (reward 1, then terminated; the final obs equals the start obs)", 1.0,
             "do not bootstrap past a terminated step, and leave out the autoreset step that follows it (it "
             "has reward 0 and is not a transition): either mistake pulls V toward gamma * V"),
            (TRUNCATED_ID, "TruncatedProbe (reward 1 per step, truncated after 2 steps, one observation)", 2.0,
             "a truncated step must bootstrap from the value of its final observation (the obs returned with "
             "truncated=True), and the autoreset step after it must be left out")):
        config = {**PROBE_CONFIG, "env_id": env_id}
        _, value_net, _, text = run_training(prop, train_a2c, 4, PROBE_STEPS, config, 11, 120.0, name)
        value = as_array(prop, text, call_student(prop, text, value_net, torch.as_tensor(PROBE_OBS[None])),
                         shape=(1,), what="a value", tensor=True)[0]
        if abs(value - truth) > 0.1:
            fail(prop, text, f"V(probe obs) = {truth} +- 0.1", f"{value:.4f}", hint)
        found.append(f"{value:.3f}")
    return "V = " + ", ".join(found)


def greedy_returns(prop: str, text: str, policy, n_episodes: int = EVAL_EPISODES, seed: int = EVAL_SEED):
    """Undiscounted returns of the greedy policy (argmax of the logits) on n CartPole-v1 episodes, run side by
    side; episode i starts from reset(seed=seed + i)."""
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1") for _ in range(n_episodes)])
    obs, _ = envs.reset(seed=seed)
    returns = np.zeros(n_episodes)
    running = np.ones(n_episodes, dtype=bool)
    while running.any():
        logits = policy_logits(prop, text, policy, obs.astype(np.float32))
        obs, rewards, terminated, truncated, _ = envs.step(logits.argmax(axis=1))
        returns[running] += rewards[running]
        running &= ~(terminated | truncated)
    envs.close()
    return returns


@check("a2c_learns_cartpole")
def check_a2c_learns_cartpole(train_a2c: Callable) -> str:
    """After 200,000 environment steps the greedy policy's mean return over 20 episodes is at least 475.

    Margins on the grading seed (benchmarks/learning_margins.py, one thread): the instructor solution averages
    500 (+25, the maximum); GAE computed without the critic's values (the bug it targets, corpus mutant
    gae_without_the_critic_values) 116.5 (-358.5)."""
    prop = (f"after {LEARNING_STEPS:,} environment steps ({LEARNING_ENVS} CartPole-v1 envs) the greedy policy "
            f"(argmax of the logits) averages a return >= {SOLVED_RETURN:.0f} over {EVAL_EPISODES} episodes "
            "(the maximum is 500)")
    policy, _, returns, text = run_training(prop, train_a2c, LEARNING_ENVS, LEARNING_STEPS, LEARNING_CONFIG,
                                            GRADING_SEED, 290.0)
    learning_curve(returns, reference=SOLVED_RETURN, reference_label="threshold", window=20)
    evaluation = greedy_returns(prop, text, policy)
    if evaluation.mean() < SOLVED_RETURN:
        last = returns[-20:].mean() if len(returns) else float("nan")
        fail(prop, text, f"mean greedy return >= {SOLVED_RETURN:.0f}", f"{evaluation.mean():.1f} (mean of the "
             f"last 20 training episodes: {last:.1f})", "check the masks of the autoreset steps, that GAE uses "
             "your critic's values, one optimiser step per rollout, and the loss signs")
    return f"greedy mean return {evaluation.mean():.1f} over {EVAL_EPISODES} episodes"
