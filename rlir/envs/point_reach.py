"""A point that must reach a target in the plane: a small continuous-control task for policy gradients.

``rlir/PointReach-v0`` (registered by ``rlir.envs``): the agent sits at a position ``p`` in the square
``[-1, 1]^2`` and must reach a target ``g`` drawn uniformly in the same square. Observation
``(p_x, p_y, g_x, g_y)``; action ``a`` in ``[-1, 1]^2`` (clipped to it), which moves the point by
``MAX_STEP * a``; reward ``-||g - p'||`` (the distance after the move). Episodes last ``EPISODE_STEPS``
steps (a time limit: ``truncated=True``). The optimal policy is known in closed form: move each coordinate
straight toward the target, as far as allowed (``optimal_action``), so the best achievable return of every
episode can be computed exactly and a learner measured against it.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

POINT_REACH_ID = "rlir/PointReach-v0"
MAX_STEP = 0.1
EPISODE_STEPS = 50


class PointReachEnv(gym.Env):
    """Reach a random target in the unit square with bounded steps (see the module docstring)."""

    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._position = np.zeros(2)
        self._target = np.zeros(2)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self._position, self._target]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._position = self.np_random.uniform(-1.0, 1.0, size=2)
        self._target = self.np_random.uniform(-1.0, 1.0, size=2)
        return self._obs(), {}

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=float).reshape(2), -1.0, 1.0)
        self._position = np.clip(self._position + MAX_STEP * action, -1.0, 1.0)
        distance = float(np.linalg.norm(self._target - self._position))
        return self._obs(), -distance, False, False, {"distance": distance}


def optimal_action(obs: np.ndarray) -> np.ndarray:
    """The best action for an observation (one row or a batch): each coordinate moves straight toward the
    target, by at most MAX_STEP. It is optimal because every coordinate's distance shrinks as fast as
    the action bounds allow, and the reward only grows when a coordinate's distance shrinks."""
    obs = np.asarray(obs, dtype=float)
    return np.clip((obs[..., 2:4] - obs[..., 0:2]) / MAX_STEP, -1.0, 1.0)
