"""Benchmark of assignment 5 (REINFORCE for ranking): held-out NDCG@10 and CPU seconds of the instructor
solution over several seeds, with the learning checks' settings, next to the reference rankers.

Prints one table (nothing is asserted): per reward mode (labels, clicks) and seed, the NDCG@10 of ranking the 300
test queries by the learned scores, its ratio to the oracle scorer's NDCG@10, and the CPU seconds of training;
then the mean and the reference figures (random ranker, best single feature, oracle). ``--ablation`` adds the
same runs without a baseline.

Usage: .venv/bin/python benchmarks/reinforce_for_ir.py [--seeds 5] [--ablation]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402

from autograder.assignments import reinforce_for_ir as checks  # noqa: E402
from autograder.grading.instructor import load_in_process, solution_sources  # noqa: E402
from rlir.envs.ranking import make_splits, reference_scores  # noqa: E402
from rlir.ir_metrics import ndcg_of_scores  # noqa: E402


def run(solution: dict, mode: str, seed: int, baseline: bool) -> tuple[float, float]:
    """(held-out NDCG@10, training CPU seconds) with the learning check's budget and settings."""
    episodes, config = ((checks.LABELS_EPISODES, checks.LABELS_CONFIG) if mode == "labels"
                        else (checks.CLICKS_EPISODES, checks.CLICKS_CONFIG))
    config = {**config, "baseline": baseline}
    env = gym.make(checks.ENV_ID, reward_mode=mode)
    start = time.process_time()
    scorer, _ = solution["train_ranker"](env, episodes, config, seed)
    cpu = time.process_time() - start
    _, test = make_splits()
    with torch.no_grad():
        scores = np.stack([scorer(torch.tensor(features)).numpy() for features in test.features])
    return float(ndcg_of_scores(scores, test.labels, 10).mean()), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--ablation", action="store_true", help="also train without a baseline")
    args = parser.parse_args()
    torch.set_num_threads(1)
    solution = load_in_process(solution_sources("reinforce_for_ir"))
    reference = reference_scores(make_splits())
    oracle = reference["oracle"]
    settings = [("labels", True), ("clicks", True)]
    if args.ablation:
        settings += [("labels", False), ("clicks", False)]
    print(f"{'rewards':8s} {'baseline':9s} {'seed':>4s} {'episodes':>8s} {'NDCG@10':>8s} {'x oracle':>8s} "
          f"{'CPU s':>6s}")
    summary = []
    for mode, baseline in settings:
        episodes = checks.LABELS_EPISODES if mode == "labels" else checks.CLICKS_EPISODES
        threshold = checks.LABELS_RATIO if mode == "labels" else checks.CLICKS_RATIO
        rows = []
        for seed in range(args.seeds):
            ndcg, cpu = run(solution, mode, seed, baseline)
            rows.append((ndcg, cpu))
            print(f"{mode:8s} {'yes' if baseline else 'no':9s} {seed:4d} {episodes:8d} {ndcg:8.3f} "
                  f"{ndcg / oracle:8.3f} {cpu:6.1f}", flush=True)
        ndcgs, cpus = np.array(rows).T
        summary.append((mode, baseline, ndcgs, cpus, threshold))
    print()
    print(f"{'rewards':8s} {'baseline':9s} {'mean NDCG@10':>14s} {'min x oracle':>12s} {'threshold':>9s} "
          f"{'mean CPU s':>10s}")
    for mode, baseline, ndcgs, cpus, threshold in summary:
        print(f"{mode:8s} {'yes' if baseline else 'no':9s} {ndcgs.mean():7.3f} ±{ndcgs.std():.3f} "
              f"{ndcgs.min() / oracle:12.3f} {threshold:9.2f} {cpus.mean():10.1f}")
    print()
    print("reference rankers on the same 300 test queries (NDCG@10): "
          f"random {reference['random']:.3f}, best single feature {reference['best_single_feature']:.3f}, "
          f"oracle {oracle:.3f}")


if __name__ == "__main__":
    main()
