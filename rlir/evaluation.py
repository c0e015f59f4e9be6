"""Honest evaluation of an agent: fixed seeds, whole episodes, no exploration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np


def evaluate_policy(env: gym.Env, act: Callable[[Any], Any], n_episodes: int, seed: int) -> np.ndarray:
    """Undiscounted return of each of ``n_episodes`` episodes in which ``act(obs)`` chooses every action;
    episode ``i`` starts from ``env.reset(seed=seed + i)``, so the same agent always gets the same figures."""
    returns = np.zeros(n_episodes)
    for episode in range(n_episodes):
        obs, _ = env.reset(seed=seed + episode)
        while True:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            returns[episode] += float(reward)
            if terminated or truncated:
                break
    return returns
