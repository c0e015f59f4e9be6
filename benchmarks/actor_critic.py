"""Benchmark of assignment 6: our A2C (the instructor solution) against Stable-Baselines3's A2C on CartPole-v1.

SB3 runs with the rl-baselines3-zoo hyperparameters for CartPole-v1 (hyperparams/a2c.yml: n_envs 8,
n_timesteps 5e5, policy MlpPolicy, ent_coef 0.0; everything else SB3's defaults: n_steps 5, lr 7e-4 with
RMSprop, gamma 0.99, gae_lambda 1.0, vf_coef 0.5, max_grad_norm 0.5, 64x64 tanh networks). Ours runs with the
learning check's configuration (8 envs, n_steps 8, GAE 0.95, Adam 3e-3 decaying linearly over 200,000 steps).

Both are evaluated the same way, every 10,240 environment steps (all envs counted): the greedy policy on 20
CartPole-v1 episodes with fixed seeds; training stops when the mean return reaches 475 (budgets: ours 200,000
steps, SB3 500,000). Reported per seed: environment steps and CPU seconds of training (process time, the
evaluations excluded) until then, and the ratios SB3 / ours (> 1 means ours is better). Nothing is asserted.

Usage: nice -n 10 .venv/bin/python benchmarks/actor_critic.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.actor_critic import LEARNING_CONFIG, LEARNING_ENVS, LEARNING_STEPS, SOLVED_RETURN, greedy_returns  # noqa: E402
from tests.helpers import load_in_process, solution_sources  # noqa: E402

EVAL_EVERY = 10_240
SB3_STEPS = 500_000


class Progress:
    """Evaluate every EVAL_EVERY steps; remember when the greedy policy first holds the threshold."""

    def __init__(self) -> None:
        self.next_eval = EVAL_EVERY
        self.eval_cpu = 0.0
        self.solved_at: tuple[int, float] | None = None
        self.start = time.process_time()

    def maybe_evaluate(self, steps: int, act_logits) -> bool:
        if steps < self.next_eval:
            return False
        self.next_eval += EVAL_EVERY
        begin = time.process_time()
        mean = float(np.mean(greedy_returns("benchmark", "benchmark", act_logits)))
        self.eval_cpu += time.process_time() - begin
        if mean >= SOLVED_RETURN:
            self.solved_at = (steps, time.process_time() - self.start - self.eval_cpu)
            return True
        return False


def run_ours(train_a2c, seed: int) -> Progress:
    progress = Progress()

    def callback(steps, policy, value_net):
        with torch.no_grad():
            return progress.maybe_evaluate(steps, policy)

    train_a2c(LEARNING_ENVS, LEARNING_STEPS, {**LEARNING_CONFIG, "callback": callback}, seed)
    return progress


def run_sb3(seed: int) -> Progress:
    from stable_baselines3 import A2C
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    progress = Progress()

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

    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = A2C("MlpPolicy", env, ent_coef=0.0, seed=seed, device="cpu", verbose=0)
    model.learn(SB3_STEPS, callback=Stop())
    return progress


def fmt(progress: Progress, budget: int) -> tuple[str, str]:
    if progress.solved_at is None:
        return f">{budget}", "-"
    return str(progress.solved_at[0]), f"{progress.solved_at[1]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    namespace = load_in_process(solution_sources("actor_critic"))
    print(f"CartPole-v1, greedy evaluation (20 episodes) every {EVAL_EVERY} steps, solved = mean >= "
          f"{SOLVED_RETURN:.0f}", flush=True)
    print(f"{'seed':>4} | {'ours steps':>10} {'ours cpu s':>10} | {'SB3 steps':>10} {'SB3 cpu s':>10} | "
          f"{'steps ratio':>11} {'cpu ratio':>9}", flush=True)
    ratios = []
    for seed in range(args.seeds):
        ours = run_ours(namespace["train_a2c"], seed)
        sb3 = run_sb3(seed)
        o_steps, o_cpu = fmt(ours, LEARNING_STEPS)
        s_steps, s_cpu = fmt(sb3, SB3_STEPS)
        if ours.solved_at and sb3.solved_at:
            ratio = (sb3.solved_at[0] / ours.solved_at[0], sb3.solved_at[1] / ours.solved_at[1])
            ratios.append(ratio)
            text = f"{ratio[0]:>11.2f} {ratio[1]:>9.2f}"
        else:
            text = f"{'-':>11} {'-':>9}"
        print(f"{seed:>4} | {o_steps:>10} {o_cpu:>10} | {s_steps:>10} {s_cpu:>10} | {text}", flush=True)
    if ratios:
        steps_ratio, cpu_ratio = np.exp(np.mean(np.log(np.array(ratios)), axis=0))
        print(f"geometric mean ratio SB3 / ours over {len(ratios)} seeds solved by both: steps {steps_ratio:.2f}, "
              f"CPU seconds {cpu_ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
