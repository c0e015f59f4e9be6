"""Benchmark: how many environment steps and CPU seconds REINFORCE needs to solve CartPole-v1.

Two learners, 5 seeds each, 150,000 steps at most (the graded budget):

* the instructor solution of the notebook (rewards-to-go, 5 episodes per update, normalised returns, Adam 0.01;
  the configuration of the graded learning check);
* a plain, minimal REINFORCE as first written on the slides: one episode per update, every step weighted by
  the episode's whole discounted return R(tau), no normalisation, Adam 0.001.

"Solved" is the first step at which the mean undiscounted return of the last 20 training episodes reaches 475
(Gymnasium's threshold for CartPole-v1); CPU seconds are process time up to that step. The greedy policy at the
end is also scored on 10 evaluation episodes. Prints a table; asserts nothing.

Run: ``nice -n 10 python benchmarks/reinforce.py [--seeds 5]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assignments.reinforce import CARTPOLE_CONFIG, CARTPOLE_STEPS, CARTPOLE_THRESHOLD  # noqa: E402
from autograder.grading.instructor import load_in_process, solution_sources  # noqa: E402

WINDOW = 20


class SolveClock(gym.Wrapper):
    """Counts steps and CPU time and notes when the last WINDOW episodes first average >= the threshold."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.steps, self.episode_return, self.returns = 0, 0.0, []
        self.start = time.process_time()
        self.solved_at: tuple[int, float] | None = None

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        self.episode_return += float(reward)
        if terminated or truncated:
            self.returns.append(self.episode_return)
            self.episode_return = 0.0
            if (self.solved_at is None and len(self.returns) >= WINDOW
                    and np.mean(self.returns[-WINDOW:]) >= CARTPOLE_THRESHOLD):
                self.solved_at = (self.steps, time.process_time() - self.start)
        return obs, reward, terminated, truncated, info


def plain_reinforce(env: gym.Env, total_steps: int, seed: int, namespace: dict):
    """The slides' REINFORCE: theta <- theta + alpha R(tau) grad log pi(a_t|s_t), one episode per update."""
    torch.manual_seed(seed)
    policy = namespace["CategoricalPolicy"](env.observation_space.shape[0], env.action_space.n, (64,))
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.001)
    steps, first = 0, True
    while steps < total_steps:
        obs, _ = env.reset(seed=seed if first else None)
        first = False
        log_probs, rewards = [], []
        while steps < total_steps:
            dist = policy.distribution(torch.as_tensor(obs, dtype=torch.float32))
            action = dist.sample()
            log_probs.append(dist.log_prob(action))
            obs, reward, terminated, truncated, _ = env.step(int(action))
            rewards.append(float(reward))
            steps += 1
            if terminated or truncated:
                break
        episode_return = sum(r * 0.99 ** t for t, r in enumerate(rewards))
        loss = -episode_return * torch.stack(log_probs).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return policy


def greedy_score(policy, seed: int = 10_000, episodes: int = 10) -> float:
    env = gym.make("CartPole-v1")
    total = 0.0
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        while True:
            with torch.no_grad():
                action = int(policy.distribution(torch.as_tensor(obs, dtype=torch.float32)).probs.argmax())
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
    return total / episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    namespace = load_in_process(solution_sources("reinforce"))

    learners = {
        "solution (5 ep/update, reward-to-go, normalised)":
            lambda env, seed: namespace["train_reinforce"](env, CARTPOLE_STEPS, dict(CARTPOLE_CONFIG), seed)[0],
        "plain (1 ep/update, R(tau), Adam 1e-3)":
            lambda env, seed: plain_reinforce(env, CARTPOLE_STEPS, seed, namespace),
    }
    print(f"CartPole-v1, budget {CARTPOLE_STEPS} steps, solved = mean of last {WINDOW} training returns >= "
          f"{CARTPOLE_THRESHOLD:.0f}")
    print(f"{'learner':50s} {'seed':>4s} {'steps to solve':>15s} {'CPU s to solve':>15s} {'CPU s total':>12s} "
          f"{'greedy return':>14s}")
    summary = {}
    for name, learn in learners.items():
        rows = []
        for seed in range(args.seeds):
            env = SolveClock(gym.make("CartPole-v1"))
            start = time.process_time()
            policy = learn(env, seed)
            total_cpu = time.process_time() - start
            score = greedy_score(policy)
            steps, cpu = env.solved_at if env.solved_at else (None, None)
            rows.append((steps, cpu, total_cpu, score))
            print(f"{name:50s} {seed:4d} {steps if steps else 'not solved':>15} "
                  f"{f'{cpu:.1f}' if cpu else '-':>15s} {total_cpu:12.1f} {score:14.1f}", flush=True)
        summary[name] = rows
    print()
    print(f"{'learner':50s} {'solved':>7s} {'median steps':>13s} {'median CPU s':>13s} {'mean greedy':>12s}")
    for name, rows in summary.items():
        solved = [r for r in rows if r[0] is not None]
        steps = f"{np.median([r[0] for r in solved]):.0f}" if solved else "-"
        cpu = f"{np.median([r[1] for r in solved]):.1f}" if solved else "-"
        print(f"{name:50s} {len(solved):>3d}/{len(rows):<3d} {steps:>13s} {cpu:>13s} "
              f"{np.mean([r[3] for r in rows]):12.1f}")
    base, plain = (summary[name] for name in learners)
    if all(r[0] for r in base) and all(r[0] for r in plain):
        ratio = np.median([r[0] for r in plain]) / np.median([r[0] for r in base])
        print(f"plain / solution, median steps to solve: {ratio:.2f}")


if __name__ == "__main__":
    main()
