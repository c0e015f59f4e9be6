"""FrozenLake helpers for the course: exact evaluation of a policy from the model, and reward shaping.

Success rates here are computed exactly by dynamic programming over the model ``env.unwrapped.P`` and the
time limit, never by Monte Carlo, so a grade or a plot never depends on evaluation noise.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

Transitions = dict[int, dict[int, list[tuple[float, int, float, bool]]]]

# Unicode arrows for FrozenLake's actions: 0 left, 1 down, 2 right, 3 up.
ACTION_ARROWS = ("\u2190", "\u2193", "\u2192", "\u2191")


def make_frozenlake(map_name: str = "4x4", is_slippery: bool = True) -> gym.Env:
    """The course's FrozenLake: ``FrozenLake-v1`` with its 100-step limit (4x4 and 8x8 alike)."""
    return gym.make("FrozenLake-v1", map_name=map_name, is_slippery=is_slippery, max_episode_steps=100)


def success_probability(P: Transitions, policy: np.ndarray, initial_distribution: np.ndarray,
                        horizon: int = 100) -> float:
    """Exact probability that the deterministic ``policy`` reaches a rewarding terminal state within
    ``horizon`` steps, starting from ``initial_distribution``."""
    n_states = len(P)
    policy = np.asarray(policy, dtype=int)
    if policy.shape != (n_states,):
        raise ValueError(f"policy must have one action per state, shape ({n_states},), got {policy.shape}")
    success = np.zeros(n_states)  # probability of success within the steps left
    for _ in range(horizon):
        updated = np.zeros(n_states)
        for state in range(n_states):
            for prob, next_state, reward, terminated in P[state][int(policy[state])]:
                if terminated:
                    updated[state] += prob * (1.0 if reward > 0 else 0.0)
                else:
                    updated[state] += prob * success[next_state]
        success = updated
    return float(np.dot(np.asarray(initial_distribution, dtype=float), success))


def policy_success_probability(env: gym.Env, policy: np.ndarray) -> float:
    """Exact success probability of ``policy`` on a FrozenLake ``env`` within its own time limit."""
    horizon = env.spec.max_episode_steps if env.spec and env.spec.max_episode_steps else 100
    unwrapped = env.unwrapped
    return success_probability(unwrapped.P, policy, unwrapped.initial_state_distrib, horizon)


def optimal_success_probability(env: gym.Env) -> float:
    """The best success probability any policy can reach within the time limit (finite-horizon DP).

    The optimal finite-horizon policy may depend on the steps left; this is the upper bound that any
    stationary policy is compared against."""
    horizon = env.spec.max_episode_steps if env.spec and env.spec.max_episode_steps else 100
    P = env.unwrapped.P
    n_states, n_actions = len(P), len(P[0])
    success = np.zeros(n_states)
    for _ in range(horizon):
        q = np.zeros((n_states, n_actions))
        for state in range(n_states):
            for action in range(n_actions):
                for prob, next_state, reward, terminated in P[state][action]:
                    q[state, action] += prob * ((1.0 if reward > 0 else 0.0) if terminated else success[next_state])
        success = q.max(axis=1)
    return float(np.dot(env.unwrapped.initial_state_distrib, success))


class ShapedReward(gym.Wrapper):
    """Replace each reward by ``shape(reward, terminated)``, e.g. to punish falling into a hole."""

    def __init__(self, env: gym.Env, shape: Callable[[float, bool], float]) -> None:
        super().__init__(env)
        self._shape = shape

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info, original_reward=reward)
        return obs, float(self._shape(reward, terminated)), terminated, truncated, info


def lake_map(env: gym.Env) -> np.ndarray:
    """The lake's tiles as a 2-D array of one-letter strings (S, F, H, G)."""
    return np.asarray(env.unwrapped.desc).astype(str)
