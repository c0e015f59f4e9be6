"""Checks for the REINFORCE assignment: policy gradients with categorical and Gaussian policies.

Every check tests a property any correct solution has: rewards-to-go by their recursion; the surrogate loss by
its value and by its gradient, compared with the REINFORCE gradient written out in closed form for a linear
softmax policy; the direction of one small update; the Gaussian log-density against its formula and the
gradient of its log standard deviation against the analytic one; training by the greedy return of the
learned policy on CartPole-v1 and on ``rlir/PointReach-v0``, whose optimal return is known exactly.

Student objects (policies, distributions, tensors with their graphs) stay in the student's process when
grading and are used through references (see ``autograder.toolkit.framework.remote`` and ``gradients``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from hypothesis import strategies as st

from autograder.toolkit.checks import check, learning_curve
from autograder.toolkit.framework import (
    Hints,
    as_array,
    as_tensor,
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
from autograder.toolkit.remote import in_student_process, type_name
from rlir.envs.point_reach import POINT_REACH_ID, optimal_action

FOLDER = "04_reinforce"  # under source/ and release/ (the assignment's id is this module's name)
# The public contract: what students define, with these exact names and signatures.
CONTRACT = ("discounted_returns", "CategoricalPolicy", "GaussianPolicy", "reinforce_loss", "train_reinforce")
# A training run another graded cell already made with the same arguments is shared, not repeated.
SHARED_RUNS = ("train_reinforce",)
SANDBOX_OPTIONS = {"call_timeout": 30.0}

GRADING_SEED = 20211115
EVAL_SEED = 10_000  # evaluation episodes start from env.reset(seed=EVAL_SEED + i)

CARTPOLE_STEPS = 150_000
CARTPOLE_THRESHOLD = 475.0  # Gymnasium's own "solved" threshold; the maximum is 500
CARTPOLE_EVAL_EPISODES = 10
CARTPOLE_CONFIG = {"gamma": 0.99, "lr": 0.01, "hidden_sizes": (64,), "episodes_per_batch": 5,
                   "normalize_returns": True}

REACH_STEPS = 100_000
REACH_EVAL_EPISODES = 50
REACH_THRESHOLD = 0.85  # fraction of the gap between "stand still" and the optimal policy that is closed
REACH_CONFIG = {"gamma": 0.9, "lr": 0.01, "hidden_sizes": (64,), "episodes_per_batch": 10,
                "normalize_returns": True}
TRAIN_TIMEOUT = 240.0


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------
# What a failure of as_tensor advises here: policies, distributions and losses are torch objects.
HINTS = Hints(type="work with torch tensors throughout (torch.as_tensor(obs, dtype=torch.float32))",
              shape="check which dimensions you keep, sum over or broadcast", finite="look for log(0) or exp overflow")


def backward(prop: str, text: str, loss: Any) -> None:
    """Call ``backward`` on the student's scalar (in their process when grading)."""
    call_student(prop, text, lambda: remote(loss).backward())


def state_and_gradients(prop: str, text: str, policy: Any) -> tuple[dict, dict]:
    """The policy's parameters and their gradients, ``{name: tensor}`` each."""
    state = call_student(prop, text, lambda: policy.state_dict())
    grads = call_student(prop, text, gradients, policy)
    if not isinstance(state, dict) or not isinstance(grads, dict):
        fail(prop, text, "an nn.Module policy", type_name(policy), "make the policy a subclass of torch.nn.Module")
    return state, grads


def gradient_step(prop: str, text: str, policy: Any, lr: float) -> None:
    """theta <- theta - lr * grad on every parameter that has a gradient (a plain SGD step)."""
    state, grads = state_and_gradients(prop, text, policy)
    new_state = {}
    for name, value in state.items():
        grad = grads.get(name)
        value = value.detach().clone()
        new_state[name] = value if grad is None else value - lr * grad.to(value.dtype)
    call_student(prop, text, lambda: policy.load_state_dict(new_state))


def make_policy(prop: str, text: str, cls: Callable, *args: Any) -> Any:
    policy = call_student(prop, text, cls, *args)
    if not hasattr(policy, "distribution") and not in_student_process(policy):
        fail(prop, text, "an object with a distribution(obs) method", type_name(policy),
             "keep the class and method names as given")
    return policy


def distribution(prop: str, text: str, policy: Any, obs: torch.Tensor) -> Any:
    return call_student(prop, text, lambda: policy.distribution(obs))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def gaussian_log_density(actions: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """log N(a; mean, diag(std^2)), summed over the action dimensions (the last axis)."""
    return np.sum(-0.5 * ((actions - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi), axis=-1)


# ---------------------------------------------------------------------------------------------------------
# discounted_returns
# ---------------------------------------------------------------------------------------------------------
reward_lists = st.lists(st.integers(-20, 20).map(lambda i: i / 4), min_size=2, max_size=30)
# gamma strictly between 0 and 1: gamma = 0 or 1 leaves no discounting to get wrong (returns_gamma_edge_cases
# tests those two on every one of its examples)
gammas = st.sampled_from([0.9, 0.5, 0.99, 0.25])
# Explicit examples: one step, a late reward discounted many times, rewards of both signs.
RETURN_EXAMPLES = (([3.0], 0.9), ([0.0] * 9 + [5.0], 0.99), ([1.0, -2.0, 0.5, 0.0, 4.25], 0.5))
RETURNS_RTOL = 1e-5  # relative to the sum of |rewards|: rewards-to-go computed in float32 are correct


def returns_differ(returns: np.ndarray, expected: np.ndarray, rewards) -> np.ndarray:
    """Where the student's rewards-to-go differ from the expected ones beyond float32 rounding."""
    scale = max(1.0, float(np.sum(np.abs(rewards))))
    return np.abs(returns - expected) > RETURNS_RTOL * scale


def returns_shown(returns: np.ndarray, expected: np.ndarray) -> str:
    worst = int(np.argmax(np.abs(returns - expected)))
    return f"{show(returns)} (largest difference {returns[worst] - expected[worst]:.3g} at t={worst})"


def run_returns(prop: str, discounted_returns: Callable, rewards: list, gamma: float) -> tuple[np.ndarray, str]:
    text = f"rewards={rewards}, gamma={gamma}"
    result = call_student(prop, text, discounted_returns, list(rewards), gamma)
    if not isinstance(result, np.ndarray):
        fail(prop, text, "the rewards-to-go as a numpy array", f"{type_name(result)}: {show(result)}",
             "return np.array(...)")
    return as_array(prop, text, result, shape=(len(rewards),), what="the rewards-to-go"), text


@check("returns_recursion")
def check_returns_recursion(discounted_returns: Callable) -> str:
    """G_{T-1} = r_{T-1} and G_t = r_t + gamma * G_{t+1} for every t (rewards-to-go, computed backwards)."""
    prop = "discounted_returns satisfies G[T-1] = r[T-1] and G[t] = r[t] + gamma * G[t+1]"

    def body(case):
        rewards, gamma = case
        returns, text = run_returns(prop, discounted_returns, rewards, gamma)
        expected = np.zeros(len(rewards))
        running = 0.0
        for t in reversed(range(len(rewards))):
            running = rewards[t] + gamma * running
            expected[t] = running
        wrong = returns_differ(returns, expected, rewards)
        if wrong.any():
            bad = int(np.flatnonzero(wrong)[0])
            fail(prop, text, expected, returns_shown(returns, expected), f"first wrong entry: t={bad}. Go backwards "
                 "from the last step: G[t] is the reward at t plus gamma times the return from t+1 on (the "
                 "reward-to-go)")

    for_all(st.tuples(reward_lists, gammas), body, max_examples=120, examples=RETURN_EXAMPLES)
    return f"{120 + len(RETURN_EXAMPLES)} examples"


@check("returns_gamma_edge_cases")
def check_returns_gamma_edge_cases(discounted_returns: Callable) -> str:
    """gamma = 0 gives the rewards themselves; gamma = 1 gives plain suffix sums; the input is not changed."""
    prop = "with gamma=0 the rewards-to-go are the rewards; with gamma=1 they are the sums of the remaining rewards"

    def body(rewards):
        for gamma, expected, hint in (
                (0.0, np.array(rewards, dtype=float), "with gamma=0 only the immediate reward counts"),
                (1.0, np.cumsum(np.array(rewards, dtype=float)[::-1])[::-1],
                 "with gamma=1, G[t] is the sum of the rewards from t to the end of the episode (not from the "
                 "start)")):
            returns, text = run_returns(prop, discounted_returns, rewards, gamma)
            if returns_differ(returns, expected, rewards).any():
                fail(prop, text, expected, returns_shown(returns, expected), hint)
        array = np.array(rewards, dtype=float)
        copy = array.copy()
        call_student(prop, f"rewards=np.array({rewards}), gamma=0.9", discounted_returns, array, 0.9)
        if not np.array_equal(array, copy):
            fail(prop, f"rewards=np.array({rewards}), gamma=0.9", "the rewards array unchanged", array,
                 "write the returns into a new array")

    for_all(reward_lists, body, max_examples=40, examples=([0.5, 0.0, -1.25, 2.0],))
    return "41 examples"


# ---------------------------------------------------------------------------------------------------------
# CategoricalPolicy
# ---------------------------------------------------------------------------------------------------------
@check("categorical_policy")
def check_categorical_policy(CategoricalPolicy: Callable) -> str:
    """A distribution over n_actions for a batch and for a single observation; log_prob agrees with probs."""
    prop = "CategoricalPolicy(obs_dim, n_actions).distribution(obs) is a distribution over the actions of each state"
    for obs_dim, n_actions, hidden in ((4, 2, (64,)), (3, 5, (16, 16)), (6, 3, ())):
        generator = torch.Generator().manual_seed(obs_dim)
        obs = torch.randn(7, obs_dim, generator=generator)
        actions = torch.arange(7) % n_actions
        text = (f"CategoricalPolicy({obs_dim}, {n_actions}, hidden_sizes={hidden}).distribution(obs) with obs of "
                f"shape (7, {obs_dim})")
        policy = make_policy(prop, text, CategoricalPolicy, obs_dim, n_actions, hidden)
        dist = distribution(prop, text, policy, obs)
        probs = as_tensor(prop, text, call_student(prop, text, lambda d=dist: d.probs), what="dist.probs",
                          shape=(7, n_actions), hints=HINTS)
        if torch.any(probs < 0) or not torch.allclose(probs.sum(-1), torch.ones(7, dtype=torch.float64), atol=1e-5):
            fail(prop, text, "rows of probabilities summing to 1", probs.numpy(),
                 "return torch.distributions.Categorical(logits=network(obs))")
        log_probs = as_tensor(prop, text + ", then dist.log_prob(actions)",
                              call_student(prop, text, lambda d=dist, a=actions: d.log_prob(a)), what="log_prob",
                              shape=(7,), hints=HINTS)
        expected = torch.log(probs[torch.arange(7), actions])
        if not torch.allclose(log_probs, expected, atol=1e-5):
            fail(prop, text + f", actions={actions.tolist()}", expected.numpy(), log_probs.numpy(),
                 "log_prob(a) must be the log of the probability of a in the same distribution")
        if len(set(map(tuple, probs.numpy().round(6)))) == 1:
            fail(prop, text, "probabilities that depend on the observation", probs.numpy(),
                 "feed obs through the network")
        single = distribution(prop, text + " (one observation of shape "
                              f"({obs_dim},))", policy, obs[0])
        single_probs = as_tensor(prop, f"distribution(obs[0]) with obs[0] of shape ({obs_dim},)",
                                 call_student(prop, text, lambda d=single: d.probs), what="dist.probs",
                                 shape=(n_actions,), hints=HINTS)
        if not torch.allclose(single_probs, probs[0], atol=1e-5):
            fail(prop, "distribution(obs[0]) vs distribution(obs)[0]", probs[0].numpy(), single_probs.numpy(),
                 "a single observation must give the same probabilities as the same row in a batch")
    text = "CategoricalPolicy(6, 3, hidden_sizes=())"
    n_params = parameter_count(prop, text + ".state_dict()", make_policy(prop, text, CategoricalPolicy, 6, 3, ()))
    if n_params != mlp_parameter_count([6, 3]):
        fail(prop, "CategoricalPolicy(6, 3, hidden_sizes=())", "a single linear layer: 6 * 3 + 3 = 21 parameters",
             f"{n_params} parameters", "hidden_sizes=() means no hidden layer: logits = W obs + b")
    return "3 architectures, batch and single observation"


# ---------------------------------------------------------------------------------------------------------
# reinforce_loss
# ---------------------------------------------------------------------------------------------------------
def loss_case(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    log_probs = torch.tensor(-rng.exponential(1.0, size=n), dtype=torch.float32, requires_grad=True)
    returns = torch.tensor(np.round(rng.normal(0, 3, size=n), 2), dtype=torch.float32)
    return log_probs, returns


@check("reinforce_loss_value")
def check_reinforce_loss_value(reinforce_loss: Callable) -> str:
    """A scalar equal to -mean_t(G_t log pi(a_t|s_t)), attached to the graph of the log-probabilities."""
    prop = "reinforce_loss(log_probs, returns) is the scalar -mean(returns * log_probs), differentiable in log_probs"

    def body(seed):
        log_probs, returns = loss_case(seed)
        text = (f"log_probs={show(log_probs.detach().numpy())} (requires_grad=True), "
                f"returns={show(returns.numpy())}")
        loss = call_student(prop, text, reinforce_loss, log_probs, returns)
        value = as_tensor(prop, text, loss, what="the loss", shape=(), hints=HINTS)
        expected = -float((returns.double() * log_probs.detach().double()).mean())
        if not np.isclose(float(value), expected, rtol=1e-4, atol=1e-5):
            hint = ("minimise the negative: gradient descent on -G log pi is gradient ascent on the return"
                    if np.isclose(float(value), -expected, rtol=1e-4, atol=1e-5) else
                    "multiply element by element (both have shape (N,)) and take the mean over the N steps")
            fail(prop, text, f"{expected:.6g}", f"{float(value):.6g}", hint)
        if not had_grad_fn(loss):
            fail(prop, text, "a loss attached to the graph of log_probs", "a tensor without grad_fn",
                 "do not detach log_probs or convert them to numpy or float: the gradient flows through them")

    for_all(st.integers(0, 10**6), body, max_examples=40)
    return "40 examples"


@check("reinforce_loss_gradient")
def check_reinforce_loss_gradient(CategoricalPolicy: Callable, reinforce_loss: Callable) -> str:
    """For a linear softmax policy the loss's gradient is the REINFORCE estimate, written out in closed form:
    d/dW = -(1/N) sum_t G_t (onehot(a_t) - pi(.|s_t)) s_t^T, d/db = -(1/N) sum_t G_t (onehot(a_t) - pi(.|s_t))."""
    prop = ("the gradient of reinforce_loss equals the REINFORCE estimate -(1/N) sum_t G_t grad log pi(a_t|s_t) "
            "(linear softmax policy, closed form)")

    def body(seed):
        rng = np.random.default_rng(seed)
        obs_dim, n_actions, n = int(rng.integers(1, 5)), int(rng.integers(2, 5)), int(rng.integers(1, 9))
        obs = rng.normal(size=(n, obs_dim)).round(2)
        actions = rng.integers(n_actions, size=n)
        returns = rng.normal(0, 2, size=n).round(2)
        text = (f"policy = CategoricalPolicy({obs_dim}, {n_actions}, hidden_sizes=()), obs={show(obs)}, "
                f"actions={actions.tolist()}, returns={show(returns)}")
        policy = make_policy(prop, text, CategoricalPolicy, obs_dim, n_actions, ())
        state, _ = state_and_gradients(prop, text, policy)
        weights = [k for k, v in state.items() if tuple(v.shape) == (n_actions, obs_dim)]
        biases = [k for k, v in state.items() if tuple(v.shape) == (n_actions,)]
        if len(state) != 2 or len(weights) != 1 or len(biases) != 1:
            fail(prop, text, f"one weight ({n_actions}, {obs_dim}) and one bias ({n_actions},)",
                 {k: tuple(v.shape) for k, v in state.items()}, "with hidden_sizes=() the policy is a single "
                 "nn.Linear(obs_dim, n_actions) giving the logits")
        W, b = state[weights[0]].double().numpy(), state[biases[0]].double().numpy()
        expected_log_pi = log_softmax(obs @ W.T + b)
        obs_t = torch.tensor(obs, dtype=torch.float32)
        actions_t = torch.tensor(actions, dtype=torch.int64)
        dist = distribution(prop, text, policy, obs_t)
        log_probs = call_student(prop, text, lambda: dist.log_prob(actions_t))
        got_lp = as_tensor(prop, text, log_probs, what="dist.log_prob(actions)", shape=(n,), hints=HINTS)
        if not np.allclose(got_lp.numpy(), expected_log_pi[np.arange(n), actions], atol=1e-5):
            fail(prop, text, expected_log_pi[np.arange(n), actions], got_lp.numpy(), "the policy's log-probabilities "
                 "must be log softmax(W s + b)[a] (Categorical(logits=...))")
        loss = call_student(prop, text, reinforce_loss, log_probs, torch.tensor(returns, dtype=torch.float32))
        as_tensor(prop, text, loss, what="the loss", shape=(), hints=HINTS)
        backward(prop, text, loss)
        _, grads = state_and_gradients(prop, text, policy)
        pi = np.exp(expected_log_pi)
        score = np.eye(n_actions)[actions] - pi  # d log pi(a_t|s_t) / d logits
        expected_gb = -(returns[:, None] * score).mean(axis=0)
        expected_gw = -np.einsum("t,ta,td->ad", returns, score, obs) / n
        for name, expected in ((weights[0], expected_gw), (biases[0], expected_gb)):
            grad = grads.get(name)
            if grad is None:
                fail(prop, text, f"a gradient for {name}", "None", "do not detach log_probs inside the loss")
            got = grad.double().numpy()
            if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
                if np.allclose(got, -expected, rtol=1e-4, atol=1e-5):
                    hint = "the sign is flipped: the loss is the NEGATIVE of mean(G * log pi)"
                elif np.allclose(got, expected * n, rtol=1e-4, atol=1e-5):
                    hint = "take the mean over the N steps, not the sum"
                else:
                    hint = ("each log-probability must be weighted by its own return: returns and log_probs both "
                            "have shape (N,); check for an accidental (N, 1) * (N,) broadcast")
                fail(prop, text + f", gradient of {name}", expected, got, hint)

    for_all(st.integers(0, 10**6), body, max_examples=12)
    return "12 examples"


@check("gradient_sign")
def check_gradient_sign(CategoricalPolicy: Callable, reinforce_loss: Callable) -> str:
    """One small gradient-descent step on the loss raises pi(a|s) if G > 0 and lowers it if G < 0."""
    prop = ("one small step of gradient descent on reinforce_loss raises pi(a|s) for a positive return and lowers "
            "it for a negative one")
    cases = 0
    for obs_dim, n_actions in ((4, 2), (3, 4)):
        for action in range(n_actions):
            for ret in (2.0, -2.0):
                obs = torch.linspace(-1, 1, obs_dim).reshape(1, obs_dim) * (action + 1)
                act = torch.tensor([action])
                text = (f"policy = CategoricalPolicy({obs_dim}, {n_actions}), s={show(obs[0].numpy())}, "
                        f"a={action}, G={ret}, one SGD step with lr=0.01")
                policy = make_policy(prop, text, CategoricalPolicy, obs_dim, n_actions)
                before = as_tensor(prop, text, call_student(
                    prop, text, lambda p=policy, o=obs: p.distribution(o).probs), what="probs", shape=(1, n_actions),
                    hints=HINTS)
                dist = distribution(prop, text, policy, obs)
                loss = call_student(prop, text, reinforce_loss, call_student(prop, text, lambda d=dist, a=act:
                                                                           d.log_prob(a)), torch.tensor([ret]))
                backward(prop, text, loss)
                gradient_step(prop, text, policy, 0.01)
                after = as_tensor(prop, text, call_student(
                    prop, text, lambda p=policy, o=obs: p.distribution(o).probs), what="probs", shape=(1, n_actions),
                    hints=HINTS)
                old, new = float(before[0, action]), float(after[0, action])
                if not (new > old if ret > 0 else new < old):
                    fail(prop, text, f"pi(a|s) {'above' if ret > 0 else 'below'} {old:.6f}", f"{new:.6f}",
                         "descending the loss must ascend G * log pi: the loss is -mean(G * log pi(a|s))")
                cases += 1
    return f"{cases} cases"


# ---------------------------------------------------------------------------------------------------------
# GaussianPolicy
# ---------------------------------------------------------------------------------------------------------
def gaussian_case(prop: str, GaussianPolicy: Callable, obs_dim: int, act_dim: int, batch: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    obs = torch.randn(batch, obs_dim, generator=generator)
    actions = torch.randn(batch, act_dim, generator=generator) * 1.5
    text = (f"policy = GaussianPolicy({obs_dim}, {act_dim}), obs of shape ({batch}, {obs_dim}), actions="
            f"{show(actions.numpy())}")
    policy = make_policy(prop, text, GaussianPolicy, obs_dim, act_dim)
    dist = distribution(prop, text, policy, obs)
    mean = as_tensor(prop, text, call_student(prop, text, lambda: dist.mean), what="dist.mean",
                     shape=(batch, act_dim), hints=HINTS)
    std = as_tensor(prop, text, call_student(prop, text, lambda: dist.stddev), what="dist.stddev",
                    shape=(batch, act_dim), hints=HINTS)
    return policy, dist, obs, actions, mean, std, text


@check("gaussian_log_prob")
def check_gaussian_log_prob(GaussianPolicy: Callable) -> str:
    """log_prob(a) = sum_i [-(a_i - mu_i)^2 / (2 sigma_i^2) - log sigma_i - log(2 pi) / 2], one number per state;
    sigma does not depend on the state."""
    prop = ("GaussianPolicy's log_prob equals the diagonal Gaussian log-density summed over action dimensions, "
            "with a state-independent standard deviation")
    for obs_dim, act_dim, batch in ((3, 1, 5), (4, 2, 6), (2, 3, 4)):
        policy, dist, obs, actions, mean, std, text = gaussian_case(prop, GaussianPolicy, obs_dim, act_dim, batch,
                                                                    seed=obs_dim)
        if torch.any(std <= 0):
            fail(prop, text, "positive standard deviations", std.numpy(), "sigma = exp(log_std)")
        if not torch.allclose(std, std[0].expand_as(std), atol=1e-6):
            fail(prop, text, "the same sigma for every state", std.numpy(),
                 "the log standard deviation is one learnable vector (nn.Parameter), not an output of the network")
        got = call_student(prop, text, lambda d=dist, a=actions: d.log_prob(a))
        got = as_tensor(prop, text + ", dist.log_prob(actions)", got, what="log_prob", shape=(batch,), hints=HINTS)
        expected = gaussian_log_density(actions.double().numpy(), mean.numpy(), std.numpy())
        if not np.allclose(got.numpy(), expected, rtol=1e-5, atol=1e-4):
            fail(prop, text, expected, got.numpy(), "use a Normal(mean, exp(log_std)) and sum log_prob over the "
                 "last dimension (e.g. torch.distributions.Independent(normal, 1))")
        single = distribution(prop, text + " (a single observation)", policy, obs[0])
        got_one = as_tensor(prop, f"{text}, then distribution(obs[0]).log_prob(actions[0])",
                            call_student(prop, text, lambda d=single, a=actions[0]: d.log_prob(a)), what="log_prob",
                            shape=(), hints=HINTS)
        if not np.isclose(float(got_one), expected[0], rtol=1e-5, atol=1e-4):
            fail(prop, text + ", one observation", expected[0], float(got_one),
                 "a single observation gives a single log-probability (a scalar)")
    return "3 shapes"


@check("gaussian_gradients")
def check_gaussian_gradients(GaussianPolicy: Callable) -> str:
    """d/d log_sigma_i of sum_b log pi(a_b|s_b) is sum_b [(a_bi - mu_bi)^2 / sigma_i^2 - 1] for a parameter
    (the log standard deviation); a small ascent step on log pi(a|s) moves the mean toward a."""
    prop = ("the log standard deviation is a parameter whose gradient is sum_b [(a - mu)^2 / sigma^2 - 1], and the "
            "gradient reaches the mean: an ascent step on log pi(a|s) moves mu(s) toward a")
    for obs_dim, act_dim, batch in ((3, 1, 5), (4, 2, 6)):
        policy, dist, obs, actions, mean, std, text = gaussian_case(prop, GaussianPolicy, obs_dim, act_dim, batch,
                                                                    seed=10 + obs_dim)
        log_probs = call_student(prop, text, lambda d=dist, a=actions: d.log_prob(a))
        total = call_student(prop, text, lambda lp=log_probs: remote(lp).sum())
        backward(prop, text + ", backward of log_prob(actions).sum()", total)
        state, grads = state_and_gradients(prop, text, policy)
        expected = (((actions.double() - mean) / std) ** 2 - 1).sum(0).numpy()
        found = [name for name, grad in grads.items() if grad is not None and grad.numel() == act_dim
                 and np.allclose(grad.double().numpy().reshape(-1), expected, rtol=1e-4, atol=1e-4)]
        if not found:
            got = {name: (None if g is None else g.numpy()) for name, g in grads.items() if
                   name in state and state[name].numel() == act_dim}
            fail(prop, text + ", gradient of log_prob(actions).sum()",
                 f"a parameter of {act_dim} entries with gradient {show(expected)}", f"{got}",
                 "make log_std an nn.Parameter (so the optimiser trains it), use sigma = exp(log_std) without "
                 "detaching it")
        others = [name for name in nonzero_gradients(grads) if name not in found]
        if not others:
            fail(prop, text, "gradients for the mean network's parameters", {k: None if v is None else "zero"
                 for k, v in grads.items() if k not in found}, "compute the mean from obs with the network and do "
                 "not detach it")
    # The mean moves toward a rewarded action.
    obs = torch.tensor([[0.5, -0.3, 0.8]])
    for shift in ([1.0, -1.0], [-0.5, 0.7]):
        text = f"policy = GaussianPolicy(3, 2), s={obs[0].tolist()}, a = mu(s) + {shift}, one step lr=0.01"
        policy = make_policy(prop, text, GaussianPolicy, 3, 2)
        mean0 = as_tensor(prop, text, call_student(prop, text, lambda p=policy: p.distribution(obs).mean), what="mean",
                          shape=(1, 2), hints=HINTS)
        target = (mean0 + torch.tensor([shift], dtype=torch.float64)).float()
        log_prob = call_student(prop, text, lambda p=policy, a=target: p.distribution(obs).log_prob(a))
        neg = call_student(prop, text, lambda lp=log_prob: remote(remote(lp).neg()).sum())
        backward(prop, text, neg)
        gradient_step(prop, text, policy, 0.01)
        mean1 = as_tensor(prop, text, call_student(prop, text, lambda p=policy: p.distribution(obs).mean), what="mean",
                          shape=(1, 2), hints=HINTS)
        before, after = float((target.double() - mean0).norm()), float((target.double() - mean1).norm())
        if not after < before - 1e-7:
            fail(prop, text, f"|a - mu(s)| below {before:.6f}", f"{after:.6f}",
                 "the mean must come from the network's output, with the gradient flowing through it")
    return "analytic log-std gradient, 2 mean steps"


# ---------------------------------------------------------------------------------------------------------
# train_reinforce
# ---------------------------------------------------------------------------------------------------------
def run_training(prop: str, train: Callable, env_id: str, total_steps: int, config: dict, seed: int):
    env = gym.make(env_id)
    text = f"train_reinforce(gym.make({env_id!r}), total_steps={total_steps}, config={config}, seed={seed})"
    result = call_student(prop, text, with_timeout(train, TRAIN_TIMEOUT), env, total_steps, dict(config), seed)
    policy, returns = as_tuple(prop, text, result, ("policy", "episode_returns"))
    returns = as_array(prop, text, returns, what="episode_returns")
    if returns.ndim != 1 or len(returns) == 0:
        fail(prop, text, "one return per finished episode (a 1-D array)", f"shape {returns.shape}",
             "append the undiscounted return of every finished episode")
    return policy, returns, text


def evaluate(prop: str, text: str, policy: Any, env_id: str, n_episodes: int, greedy: Callable) -> np.ndarray:
    """Undiscounted returns of ``n_episodes`` episodes run side by side, episode i from reset(seed=EVAL_SEED + i),
    actions chosen by ``greedy(distribution)`` for the batch of observations of the unfinished episodes."""
    envs = [gym.make(env_id) for _ in range(n_episodes)]
    obs = [env.reset(seed=EVAL_SEED + i)[0] for i, env in enumerate(envs)]
    returns = np.zeros(n_episodes)
    active = list(range(n_episodes))
    while active:
        batch = torch.as_tensor(np.stack([obs[i] for i in active]), dtype=torch.float32)
        dist = distribution(prop, text, policy, batch)
        actions = greedy(dist)
        for row, i in enumerate(active):
            obs[i], reward, terminated, truncated, _ = envs[i].step(actions[row])
            returns[i] += float(reward)
            if terminated or truncated:
                obs[i] = None
        active = [i for i in active if obs[i] is not None]
    return returns


def most_likely_actions(prop: str, text: str) -> Callable:
    def choose(dist):
        probs = as_tensor(prop, text, call_student(prop, text, lambda: dist.probs), what="dist.probs", hints=HINTS)
        return [int(a) for a in probs.argmax(-1)]
    return choose


def mean_actions(prop: str, text: str) -> Callable:
    def choose(dist):
        mean = as_tensor(prop, text, call_student(prop, text, lambda: dist.mean), what="dist.mean", hints=HINTS)
        return [row.astype(np.float32) for row in mean.numpy().reshape(mean.shape[0], -1)]
    return choose


@check("train_reinforce_interface")
def check_train_reinforce_interface(train_reinforce: Callable) -> str:
    """Returns (policy, episode_returns), stays within total_steps, and is reproducible for a fixed seed."""
    prop = "train_reinforce returns (policy, episode_returns), uses at most total_steps steps and is reproducible"
    config = dict(CARTPOLE_CONFIG)
    policy, returns, text = run_training(prop, train_reinforce, "CartPole-v1", 3000, config, seed=3)
    if returns.sum() > 3000 or np.any(returns < 1) or np.any(returns > 500):
        fail(prop, text, "CartPole returns between 1 and 500 adding up to at most 3000 steps",
             f"{len(returns)} returns adding up to {returns.sum():.0f}",
             "stop once total_steps environment steps are used; record each finished episode's undiscounted "
             "return")
    dist = distribution(prop, text, policy, torch.zeros(2, 4))
    as_tensor(prop, text + ", then policy.distribution(torch.zeros(2, 4)).probs",
              call_student(prop, text, lambda: dist.probs), what="probs", shape=(2, 2), hints=HINTS)
    _, again, _ = run_training(prop, train_reinforce, "CartPole-v1", 3000, config, seed=3)
    if not np.array_equal(returns, again):
        fail(prop, text + ", run twice", returns, again, "seed torch (torch.manual_seed(seed)) and the "
             "environment (env.reset(seed=seed) on the first episode); use no unseeded randomness")
    return f"{len(returns)} episodes in 3000 steps, twice"


@check("reinforce_cartpole")
def check_reinforce_cartpole(train_reinforce: Callable) -> str:
    """After 150,000 steps the greedy policy averages >= 475 (maximum 500) over 10 CartPole-v1 episodes.

    Margins on the grading seed (benchmarks/learning_margins.py, one thread): the instructor solution averages
    500 (+25, the maximum); the bugs it targets: log-probabilities of resampled actions 9.2, gradient ascent
    on the loss 9.2, returns of shape (N, 1) broadcast against (N,) log-probabilities 36.3 (-439 or worse)."""
    prop = (f"after {CARTPOLE_STEPS} steps on CartPole-v1 the greedy (most likely action) policy averages >= "
            f"{CARTPOLE_THRESHOLD} over {CARTPOLE_EVAL_EPISODES} episodes (maximum 500)")
    policy, returns, text = run_training(prop, train_reinforce, "CartPole-v1", CARTPOLE_STEPS, CARTPOLE_CONFIG,
                                         GRADING_SEED)
    learning_curve(returns, reference=CARTPOLE_THRESHOLD, reference_label="threshold", window=20)
    if returns.sum() > CARTPOLE_STEPS:
        fail(prop, text, f"at most {CARTPOLE_STEPS} steps", f"{returns.sum():.0f} steps",
             "stop once total_steps environment steps are used")
    scores = evaluate(prop, text, policy, "CartPole-v1", CARTPOLE_EVAL_EPISODES, most_likely_actions(prop, text))
    if scores.mean() < CARTPOLE_THRESHOLD:
        fail(prop, text, f"a mean greedy return >= {CARTPOLE_THRESHOLD}", f"{scores.mean():.1f} (episodes "
             f"{scores.astype(int).tolist()}; mean of the last 20 training episodes {returns[-20:].mean():.1f})",
             "weight each log-probability by its reward-to-go, normalise the batch's returns when "
             "config['normalize_returns'], use config's lr, gamma, hidden_sizes and episodes_per_batch, and "
             "minimise -mean(G log pi)")
    return f"greedy return {scores.mean():.1f} of 500"


def reach_reference() -> tuple[float, float]:
    """Mean return of the optimal policy and of standing still on the evaluation episodes of PointReach."""
    results = []
    for act in (lambda obs: optimal_action(obs).astype(np.float32), lambda obs: np.zeros(2, dtype=np.float32)):
        env = gym.make(POINT_REACH_ID)
        total = 0.0
        for i in range(REACH_EVAL_EPISODES):
            obs, _ = env.reset(seed=EVAL_SEED + i)
            while True:
                obs, reward, terminated, truncated, _ = env.step(act(obs))
                total += float(reward)
                if terminated or truncated:
                    break
        results.append(total / REACH_EVAL_EPISODES)
    return results[0], results[1]


@check("reinforce_point_reach")
def check_reinforce_point_reach(train_reinforce: Callable) -> str:
    """After 100,000 steps on rlir/PointReach-v0 the mean action closes >= 85 % of the gap between standing
    still and the optimal policy (exact optimum, same evaluation episodes).

    Margins on the grading seed (benchmarks/learning_margins.py): the instructor solution closes 93.5 % of the
    gap (+8.5 points); the bugs it targets end worse than standing still: log-probabilities of resampled
    actions -50 %, gradient ascent -91 %, returns of shape (N, 1) -44 %."""
    prop = (f"after {REACH_STEPS} steps on {POINT_REACH_ID} the mean action of the Gaussian policy closes >= "
            f"{REACH_THRESHOLD:.0%} of the return gap between standing still and the optimal policy")
    policy, returns, text = run_training(prop, train_reinforce, POINT_REACH_ID, REACH_STEPS, REACH_CONFIG,
                                         GRADING_SEED)
    optimum, still = reach_reference()
    learning_curve(returns, reference=optimum, reference_label="optimal policy", window=20)
    scores = evaluate(prop, text, policy, POINT_REACH_ID, REACH_EVAL_EPISODES, mean_actions(prop, text))
    score = (scores.mean() - still) / (optimum - still)
    if score < REACH_THRESHOLD:
        fail(prop, text, f"a mean return >= {still + REACH_THRESHOLD * (optimum - still):.2f} (optimum "
             f"{optimum:.2f}, standing still {still:.2f})", f"{scores.mean():.2f}, i.e. {score:.0%} of the gap",
             "for a Box action space build a GaussianPolicy, pass env.step the sampled action as a numpy array, and "
             "make sure log_prob sums over action dimensions and log_std is trained")
    return f"mean return {scores.mean():.2f}, optimum {optimum:.2f}: {score:.0%} of the gap"
