"""Benchmark of assignment 2: the reference DQN against Stable-Baselines3's DQN on CartPole-v1.

SB3 runs with the rl-baselines3-zoo hyperparameters for CartPole-v1 (hyperparams/dqn.yml: n_timesteps 5e4,
MlpPolicy, learning_rate 2.3e-3, batch_size 64, buffer_size 100000, learning_starts 1000, gamma 0.99,
target_update_interval 10, train_freq 256, gradient_steps 128, exploration_fraction 0.16,
exploration_final_eps 0.04, net_arch [256, 256]); ours with the configuration of the learning check. Both are
evaluated by the same greedy protocol every 1,000 environment steps (5 episodes, reset seeds seed + 10,000 + i;
evaluation time is excluded from the CPU figures), in one process, one thread, same machine.

Prints, per agent and seed, the environment steps and training CPU seconds until the evaluation return first
reaches 475, and until it has stayed >= 475 for three evaluations in a row (a run stops there, or at 50,000
steps), then the medians and the ratios SB3 / ours (> 1: ours is faster). Nothing is asserted.

Usage: nice -n 10 .venv/bin/python benchmarks/dqn.py [--seeds 5] [--steps 50000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assignments.dqn import EVAL_SEED_OFFSET, LEARNING_CONFIG, RETURN_THRESHOLD  # noqa: E402
from autograder.grading.instructor import load_in_process, solution_sources  # noqa: E402
from benchmarks.milestones import Milestones, quiet, show, summary  # noqa: E402

EVAL_EVERY, EVAL_EPISODES, HOLD = 1000, 5, 3
ZOO = dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
           target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
           exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]))


class Done(Exception):
    """Raised from the evaluation hook to end a run once the return has held the threshold."""


class Tracker(Milestones):
    """Greedy evaluations every EVAL_EVERY steps by the learning check's protocol."""

    def __init__(self, seed: int) -> None:
        super().__init__(RETURN_THRESHOLD, HOLD)
        self.seed, self.env = seed, gym.make("CartPole-v1")

    def greedy_return(self, q_values) -> float:
        total = 0.0
        for episode in range(EVAL_EPISODES):
            obs, _ = self.env.reset(seed=self.seed + EVAL_SEED_OFFSET + episode)
            while True:
                with torch.no_grad():
                    action = int(q_values(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)).argmax())
                obs, reward, terminated, truncated, _ = self.env.step(action)
                total += float(reward)
                if terminated or truncated:
                    break
        return total / EVAL_EPISODES

    def evaluate(self, q_values) -> None:
        if self.record((len(self.evals) + 1) * EVAL_EVERY, lambda: self.greedy_return(q_values)):
            raise Done


def run_ours(seed: int, steps: int) -> Tracker:
    namespace = load_in_process(solution_sources("dqn"))
    tracker = Tracker(seed)
    namespace["evaluate_greedy"] = lambda net, env, n, s: tracker.evaluate(net)  # same protocol, timed apart
    config = {**LEARNING_CONFIG, "eval_every": EVAL_EVERY, "eval_episodes": EVAL_EPISODES}
    tracker.restart_clock()
    try:
        namespace["train_dqn"](gym.make("CartPole-v1"), steps, config, seed)
    except Done:
        pass
    return tracker


def run_sb3(seed: int, steps: int) -> Tracker:
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    tracker = Tracker(seed)

    class Evaluate(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % EVAL_EVERY == 0:
                try:
                    tracker.evaluate(self.model.q_net)
                except Done:
                    return False
            return True

    tracker.restart_clock()
    model = quiet(DQN("MlpPolicy", gym.make("CartPole-v1"), seed=seed, device="cpu", verbose=0, **ZOO))
    model.learn(total_timesteps=steps, callback=Evaluate())
    return tracker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {"ours": [], "sb3": []}
    print(f"{'agent':>5} {'seed':>4} | {'first >= 475':>17} | {'held 3 evals':>17} | evaluations")
    for seed in range(args.seeds):
        for name, run in (("ours", run_ours), ("sb3", run_sb3)):
            tracker = run(seed, args.steps)
            results[name].append(tracker)
            print(f"{name:>5} {seed:>4} | {show(tracker.first)} | {show(tracker.held)} | "
                  f"{[int(v) for v in tracker.evals]}", flush=True)
    print()
    print("\n".join(summary(results, RETURN_THRESHOLD)))


if __name__ == "__main__":
    main()
