"""Contextual recommendation with known expected rewards, and a logging policy with known propensities.

``rlir/ContextualRecommendation-v0`` (registered on import) is a contextual bandit written as one-step
episodes. A population of ``n_contexts`` users is fixed by ``dataset_seed``: user ``c`` has a vector of topic
interests ``x_c`` on the simplex (Dirichlet(0.5), so most users care about one or two topics), and item ``a``
has a click probability ``theta[a, j]`` in [0.05, 0.9] for each topic ``j``. The expected reward of showing
item ``a`` to user ``c`` is the mixture

    mu(c, a) = x_c . theta_a          (in [0.05, 0.9], exactly linear in the context: LinUCB's model)

and the reward is a click, Bernoulli(mu). Because ``mu`` is known, the exact value of any policy (a table
``probs[c, a]`` of action probabilities) is ``sum_c rho_c sum_a probs[c, a] mu(c, a)`` with ``rho`` uniform
over users (``policy_value``), and so is the best achievable value (``optimal_value``).

Episode. ``reset`` draws a user with the env's seeded ``np_random`` and observes ``x_c`` (float32, shape
(n_features,)); ``info["context"]`` is the user's index. ``step(a)`` draws the click and terminates.

Logging policy. The deployed recommender that wrote the logs is a softmax over a noisy view of the rewards,
``pi_0(a | c) = softmax_a(LOGGING_SHARPNESS * mu(c, a) + popularity_a)``: it prefers good items, often
shows popular ones, and gives every item a positive probability (``logging_probs``). ``collect_log`` writes
a log of (context, features, action, propensity, reward) rounds from it, or from any other policy table.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlir.envs.user_satisfaction import validate_discrete_action

N_CONTEXTS = 100  # users in the population
N_ITEMS = 10  # items to recommend (actions)
N_FEATURES = 5  # topics (context features)
DATASET_SEED = 7  # seed of the population used by the registered env
LOGGING_SHARPNESS = 4.0  # how strongly the logging policy prefers items with a higher expected reward
POPULARITY_STD = 0.5  # spread of the logging policy's item popularity (a bias unrelated to the user)
REWARD_RANGE = (0.05, 0.9)  # click probabilities of an item per topic
LOG_KEYS = ("context", "features", "action", "propensity", "reward")


def make_population(n_contexts: int = N_CONTEXTS, n_items: int = N_ITEMS, n_features: int = N_FEATURES,
                    seed: int = DATASET_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(contexts (C, d) on the simplex, item click rates theta (K, d), popularity (K,)) from ``seed``."""
    rng = np.random.default_rng(seed)
    contexts = rng.dirichlet(np.full(n_features, 0.5), size=n_contexts)
    low, high = REWARD_RANGE
    theta = low + (high - low) * rng.random((n_items, n_features)) ** 2
    popularity = POPULARITY_STD * rng.standard_normal(n_items)
    return contexts, theta, popularity


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so it never overflows."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class ContextualRecommendationEnv(gym.Env[np.ndarray, np.int64]):
    """A contextual bandit over a fixed user population with known expected rewards (module docstring)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, n_contexts: int = N_CONTEXTS, n_items: int = N_ITEMS, n_features: int = N_FEATURES,
                 dataset_seed: int = DATASET_SEED, render_mode: str | None = None) -> None:
        for name, value in (("n_contexts", n_contexts), ("n_items", n_items), ("n_features", n_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.contexts, self.theta, self.popularity = make_population(n_contexts, n_items, n_features, dataset_seed)
        self.expected_rewards = self.contexts @ self.theta.T  # (C, K)
        self.context_probs = np.full(n_contexts, 1.0 / n_contexts)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(n_features,), dtype=np.float32)
        self.action_space = spaces.Discrete(n_items)
        self._context: int | None = None
        self._last: tuple[int, float] | None = None

    @property
    def n_contexts(self) -> int:
        return self.contexts.shape[0]

    @property
    def n_items(self) -> int:
        return self.theta.shape[0]

    def logging_probs(self) -> np.ndarray:
        """The logging policy's action probabilities pi_0(a | c), shape (C, K), every entry positive."""
        return softmax_rows(LOGGING_SHARPNESS * self.expected_rewards + self.popularity)

    def policy_value(self, probs: np.ndarray) -> float:
        """Exact expected reward of the policy with action probabilities ``probs[c, a]`` (shape (C, K))."""
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != self.expected_rewards.shape:
            raise ValueError(f"probs must have shape {self.expected_rewards.shape}, got {probs.shape}")
        return float(self.context_probs @ (probs * self.expected_rewards).sum(axis=1))

    def optimal_value(self) -> float:
        """The best achievable expected reward: the best item for every user."""
        return float(self.context_probs @ self.expected_rewards.max(axis=1))

    def collect_log(self, n_rounds: int, seed: int, probs: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """A log of ``n_rounds`` i.i.d. rounds of the policy ``probs`` (default: the logging policy).

        Keys: "context" (n,) user indices, "features" (n, d), "action" (n,), "propensity" (n,) =
        probs[context, action], "reward" (n,) clicks in {0, 1}. Seeded by ``seed`` alone (the env's own
        generator is not used), so the same call always writes the same log."""
        probs = self.logging_probs() if probs is None else np.asarray(probs, dtype=np.float64)
        rng = np.random.default_rng(seed)
        context = rng.choice(self.n_contexts, size=n_rounds, p=self.context_probs)
        cumulative = np.cumsum(probs[context], axis=1)
        draws = rng.random(n_rounds)[:, None]
        action = np.minimum((draws > cumulative).sum(axis=1), self.n_items - 1)
        reward = (rng.random(n_rounds) < self.expected_rewards[context, action]).astype(np.float64)
        return {"context": context.astype(np.int64), "features": self.contexts[context].copy(),
                "action": action.astype(np.int64), "propensity": probs[context, action], "reward": reward}

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw a user (or ``options["context"]``); observe their topic interests."""
        super().reset(seed=seed)
        if options and "context" in options:
            self._context = validate_discrete_action(options["context"], self.n_contexts, 'options["context"]')
        else:
            self._context = int(self.np_random.integers(self.n_contexts))
        self._last = None
        return self.contexts[self._context].astype(np.float32), {"context": self._context}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Show item ``action`` to the current user: reward 1 for a click; the episode ends."""
        if self._context is None:
            raise gym.error.ResetNeeded("call reset() before step(): each episode is one recommendation")
        item = validate_discrete_action(action, self.n_items)
        reward = float(self.np_random.random() < self.expected_rewards[self._context, item])
        context, self._context = self._context, None
        self._last = (item, reward)
        return self.contexts[context].astype(np.float32), reward, True, False, {"context": context}

    def render(self) -> str | None:
        """The last recommendation as text (render_mode "ansi")."""
        if self.render_mode != "ansi":
            return None
        if self._last is None:
            return f"user {self._context}: waiting for a recommendation\n"
        return f"item {self._last[0]} shown, reward {self._last[1]:.0f}\n"
