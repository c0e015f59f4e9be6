"""Benchmark of assignment 6: our A2C (the instructor solution) against Stable-Baselines3's A2C on CartPole-v1.

SB3 runs with the rl-baselines3-zoo hyperparameters for CartPole-v1 (hyperparams/a2c.yml: n_envs 8,
n_timesteps 5e5, policy MlpPolicy, ent_coef 0.0; everything else SB3's defaults: n_steps 5, lr 7e-4 with
RMSprop, gamma 0.99, gae_lambda 1.0, vf_coef 0.5, max_grad_norm 0.5, 64x64 tanh networks). Ours runs with the
learning check's configuration (8 envs, n_steps 8, GAE 0.95, Adam 3e-3 decaying linearly over 200,000 steps).

Both are evaluated the same way, every 2,048 environment steps by default (all envs counted; at the first
update at or past each multiple): the greedy policy on 20 CartPole-v1 episodes with fixed seeds, excluded from
the CPU figures. Reported per agent and seed: environment steps and training CPU seconds (process time, one
thread) until the 20-episode mean first reaches 475, and until it has stayed >= 475 for three evaluations in a
row (a run stops there, or at its budget: ours 200,000 steps, SB3's zoo budget 500,000), then the medians and
the ratios SB3 / ours (> 1: ours is faster). Nothing is asserted.

Usage: nice -n 10 .venv/bin/python benchmarks/actor_critic.py [--seeds 5] [--eval-every 2048]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assignments.actor_critic import (  # noqa: E402
    LEARNING_CONFIG,
    LEARNING_ENVS,
    LEARNING_STEPS,
    SOLVED_RETURN,
    greedy_returns,
)
from autograder.grading.instructor import load_in_process, solution_sources  # noqa: E402
from benchmarks.milestones import Milestones, quiet, show, summary  # noqa: E402

SB3_STEPS = 500_000


class Progress(Milestones):
    """Evaluate every `every` steps (at the first update at or past each multiple)."""

    def __init__(self, every: int) -> None:
        super().__init__(SOLVED_RETURN)
        self.every = self.next_eval = every

    def maybe_evaluate(self, steps: int, act_logits) -> bool:
        """True once the threshold is held: the run stops."""
        if steps < self.next_eval:
            return False
        self.next_eval = (steps // self.every + 1) * self.every
        with torch.no_grad():
            return self.record(steps, lambda: np.mean(greedy_returns("benchmark", "benchmark", act_logits)))


def run_ours(train_a2c, seed: int, every: int) -> Progress:
    progress = Progress(every)
    config = {**LEARNING_CONFIG, "callback": lambda steps, policy, value_net: progress.maybe_evaluate(steps, policy)}
    progress.restart_clock()
    train_a2c(LEARNING_ENVS, LEARNING_STEPS, config, seed)
    return progress


def run_sb3(seed: int, every: int) -> Progress:
    from stable_baselines3 import A2C
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    progress = Progress(every)

    class Greedy(torch.nn.Module):
        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, obs):
            actions, _ = self.model.predict(obs.numpy(), deterministic=True)
            return torch.nn.functional.one_hot(torch.as_tensor(actions), 2).float()

    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            return not progress.maybe_evaluate(self.num_timesteps, Greedy(self.model))

    progress.restart_clock()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = quiet(A2C("MlpPolicy", env, ent_coef=0.0, seed=seed, device="cpu", verbose=0))
    model.learn(SB3_STEPS, callback=Stop())
    return progress


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-every", type=int, default=2048, help="environment steps between evaluations")
    args = parser.parse_args()
    torch.set_num_threads(1)
    namespace = load_in_process(solution_sources("actor_critic"))
    print(f"CartPole-v1, greedy evaluation (20 episodes) every {args.eval_every} steps, threshold "
          f"{SOLVED_RETURN:.0f}", flush=True)
    print(f"{'agent':>5} {'seed':>4} | {'first >= 475':>17} | {'held 3 evals':>17} | evaluations", flush=True)
    results = {"ours": [], "sb3": []}
    for seed in range(args.seeds):
        for name, run in (("ours", lambda s: run_ours(namespace["train_a2c"], s, args.eval_every)),
                          ("sb3", lambda s: run_sb3(s, args.eval_every))):
            progress = run(seed)
            results[name].append(progress)
            print(f"{name:>5} {seed:>4} | {show(progress.first)} | {show(progress.held)} | "
                  f"{[int(v) for v in progress.evals]}", flush=True)
    print()
    print("\n".join(summary(results, SOLVED_RETURN)), flush=True)


if __name__ == "__main__":
    main()
