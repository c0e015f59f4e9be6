"""Benchmark of assignment 3: the reference double DQN recommender against the exact references.

Trains the instructor solution's ``train_recommender_dqn`` with the graded configuration and budget on several
seeds (the grading seed first), evaluates each greedy policy the way the learning check does (300 fresh
sessions, in the grader's process) and prints, per seed, the return as a fraction of the DP optimum next to
the best constant item, random recommendations and the myopic (clickbait) policy, with the CPU seconds of
training. The environments' own throughput is in ``benchmarks/env_throughput.py``. Nothing is asserted.

Usage: nice -n 10 .venv/bin/python benchmarks/dqn_for_ir.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")  # the solution's progress bar would drown the table

from autograder.assignments import dqn_for_ir as checks  # noqa: E402
from autograder.grading.instructor import load_in_process, solution_sources  # noqa: E402
from rlir.envs.user_satisfaction import baseline_returns  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (the grading seed, then 0, 1, ...)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    solution = load_in_process(solution_sources("dqn_for_ir"))
    references = baseline_returns()
    optimum = references["optimal"]
    print(f"rlir/UserSatisfaction-v0, double DQN, {checks.LEARNING_STEPS} steps, config {checks.LEARNING_CONFIG}")
    print(f"exact references: optimum {optimum:.2f}, best constant {references['best_constant']:.2f} "
          f"({references['best_constant'] / optimum:.3f}), random {references['random']:.2f} "
          f"({references['random'] / optimum:.3f}), myopic {references['myopic']:.2f} "
          f"({references['myopic'] / optimum:.3f}); threshold {checks.LEARNING_FRACTION} of the optimum")
    print(f"{'seed':>10} | {'greedy return':>15} | {'/ optimum':>9} | {'/ best const':>12} | {'/ random':>8} | "
          f"{'train CPU s':>11}")
    ratios = []
    for seed in [checks.GRADING_SEED, *range(args.seeds - 1)]:
        start = time.process_time()
        net, _ = solution["train_recommender_dqn"](gym.make(checks.ENV_ID), checks.LEARNING_STEPS,
                                                   checks.LEARNING_CONFIG, seed)
        cpu = time.process_time() - start
        returns = checks.greedy_returns("benchmark", f"seed {seed}", net)
        mean, stderr = returns.mean(), returns.std(ddof=1) / np.sqrt(len(returns))
        ratios.append(mean / optimum)
        print(f"{seed:>10} | {mean:8.2f} +- {stderr:4.2f} | {mean / optimum:9.3f} | "
              f"{mean / references['best_constant']:12.3f} | {mean / references['random']:8.3f} | {cpu:11.1f}",
              flush=True)
    print(f"mean / optimum over {len(ratios)} seeds: {np.mean(ratios):.3f} (min {np.min(ratios):.3f})")


if __name__ == "__main__":
    main()
