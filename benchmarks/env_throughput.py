"""Print the course environments' throughput and their reference figures (a script, not a test).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/env_throughput.py [--steps 20000]``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import rlir.envs  # noqa: F401  (registers the ids)
from rlir.envs.ranking import TOP_K, make_splits, reference_scores
from rlir.envs.user_satisfaction import baseline_returns, evaluate_policy, optimal_value


def steps_per_second(env_id: str, n_steps: int, seed: int = 0, **kwargs) -> float:
    """Time ``n_steps`` steps of uniformly random *valid* actions in the raw (unwrapped) env."""
    env = gym.make(env_id, **kwargs).unwrapped
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(n_steps):
        mask = info.get("action_mask")
        action = rng.choice(np.flatnonzero(mask)) if mask is not None else rng.integers(env.action_space.n)
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            obs, info = env.reset()
    return n_steps / (time.perf_counter() - start)


def main() -> None:
    """Print one table of throughput and one of reference returns / NDCGs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20_000, help="steps timed per environment")
    args = parser.parse_args()

    print(f"{'environment':<44}{'steps/s':>12}")
    for env_id, kwargs in [("rlir/UserSatisfaction-v0", {}), ("rlir/Ranking-v0", {"reward_mode": "labels"}),
                           ("rlir/Ranking-v0", {"reward_mode": "clicks"})]:
        label = env_id + "".join(f" {k}={v}" for k, v in kwargs.items())
        print(f"{label:<44}{steps_per_second(env_id, args.steps, **kwargs):>12,.0f}")

    print("\nUserSatisfaction-v0 expected return (exact on the DP grid, 401 points)")
    for name, value in baseline_returns().items():
        print(f"  {name:<20}{value:>10.2f}")
    value, policy = optimal_value()
    mean, se = evaluate_policy(policy, n_episodes=2000, seed=0)
    print(f"  {'DP policy, MC':<20}{mean:>10.2f} +- {se:.2f} (2000 env episodes; DP value {value:.2f})")

    print(f"\nRanking-v0 mean NDCG@{TOP_K} on the test split (best feature selected on train)")
    for name, value in reference_scores(make_splits(), k=TOP_K).items():
        print(f"  {name:<20}{value:>10.4f}")


if __name__ == "__main__":
    main()
