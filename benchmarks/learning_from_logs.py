"""Benchmark of assignment 7 (learning from logs): the instructor solution's off-policy estimators against the
exact value, LinUCB's regret against ε-greedy and random, and Open Bandit Pipeline (obp) where it installs.

Prints tables (nothing is asserted):

1. for log sizes 10^2..10^5 of ``rlir/ContextualRecommendation-v0``'s logging policy, the bias and RMSE of IPS,
   SNIPS, clipped IPS (M = 10), the direct method and doubly robust against the target policy's exact value
   (the notebook's target: the favourite item of a noisy model with probability 0.9; DM and DR use a
   context-free reward model, each item's mean logged reward, so DM is biased), and the time per call;
2. LinUCB (α = 1, the grading check's setting) against the grader's ε-greedy (ε = 0.1) and random items:
   exact expected regret over 3,000 rounds on several seeds;
3. obp's IPS, SNIPS, clipped IPS, DM and DR on the same logs, the largest difference and the time ratio — or,
   when obp cannot be installed beside the course's pins, why.

Usage: .venv/bin/python benchmarks/learning_from_logs.py [--repeats 200] [--seeds 5] [--probe-obp]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gymnasium as gym  # noqa: E402

from autograder.assignments import learning_from_logs as checks  # noqa: E402
from autograder.grading.instructor import load_in_process, solution_sources  # noqa: E402

SIZES = (100, 1000, 10_000, 100_000)
ESTIMATORS = ("IPS", "SNIPS", "clipped IPS (M=10)", "DM", "DR")
MAX_WEIGHT = 10.0
# What pip's resolver said when obp was tried beside the course's pins (Python 3.11, numpy 2.4.6, scipy 1.17.1,
# torch 2.13.0, matplotlib 3.11.2), measured with `pip install --dry-run` in a throwaway venv on 2026-12-02.
OBP_RESOLVER_REASON = """\
obp==0.5.7 (the latest release): ResolutionImpossible
    The conflict is caused by:
        The user requested numpy==2.4.6
        obp 0.5.7 depends on numpy==1.23.5
obp (any version): pip falls back to older releases, which do not build: obp-0.5.6.tar.gz "has inconsistent
    version: expected '0.5.6', but metadata has '0.5.5'"; obp 0.5.5's sdist fails in "Getting requirements to
    build wheel" (AttributeError: 'build_ext' object has no attribute 'cython_sources', an old Cython/setuptools
    build). So obp cannot be installed without giving up the course's numpy pin; the comparison is skipped."""


def target_table(world) -> np.ndarray:
    """The notebook's target policy: the favourite item of a noisy reward model w.p. 0.9, else uniform."""
    noise = 0.1 * np.random.default_rng(0).standard_normal(world.expected_rewards.shape)
    favourite = (world.expected_rewards + noise).argmax(axis=1)
    return 0.9 * np.eye(world.n_items)[favourite] + 0.1 / world.n_items


def item_means(log: dict, n_items: int) -> np.ndarray:
    """A context-free reward model: each item's mean logged reward (0.5 for an item never shown)."""
    sums = np.bincount(log["action"], weights=log["reward"], minlength=n_items)
    counts = np.bincount(log["action"], minlength=n_items)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.5)


def our_estimates(solution: dict, log: dict, target: np.ndarray, model: np.ndarray) -> dict[str, float]:
    return {"IPS": solution["ips_estimate"](log, target), "SNIPS": solution["snips_estimate"](log, target),
            "clipped IPS (M=10)": solution["clipped_ips_estimate"](log, target, MAX_WEIGHT),
            "DM": solution["dm_estimate"](log, target, model), "DR": solution["dr_estimate"](log, target, model)}


def obp_estimates(obp_ope, log: dict, target: np.ndarray, model: np.ndarray) -> dict[str, float]:
    """The same five estimates with obp's estimators (action_dist has shape (n, K, 1): one position)."""
    kwargs = {"reward": log["reward"], "action": log["action"], "pscore": log["propensity"],
              "action_dist": target[:, :, None], "position": np.zeros(len(log["action"]), dtype=int)}
    with_model = dict(kwargs, estimated_rewards_by_reg_model=model[:, :, None])
    return {"IPS": obp_ope.InverseProbabilityWeighting().estimate_policy_value(**kwargs),
            "SNIPS": obp_ope.SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**kwargs),
            "clipped IPS (M=10)": obp_ope.InverseProbabilityWeighting(lambda_=MAX_WEIGHT)
            .estimate_policy_value(**kwargs),
            "DM": obp_ope.DirectMethod().estimate_policy_value(**with_model),
            "DR": obp_ope.DoublyRobust().estimate_policy_value(**with_model)}


def estimator_table(solution: dict, repeats: int) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    world = gym.make(checks.ENV_ID).unwrapped
    table = target_table(world)
    truth = world.policy_value(table)
    print(f"1. off-policy estimates of V(target) = {truth:.4f} (exact) from logs of the logging policy "
          f"(V = {world.policy_value(world.logging_probs()):.4f}); bias and RMSE over the repeats")
    print(f"{'rounds':>7s} {'repeats':>7s} " + " ".join(f"{name:>22s}" for name in ESTIMATORS)
          + f" {'ms/call (all five)':>18s}")
    logs = []
    for n in SIZES:
        reps = repeats if n < 100_000 else max(10, repeats // 4)
        values = {name: [] for name in ESTIMATORS}
        elapsed = 0.0
        for rep in range(reps):
            log = world.collect_log(n, seed=1_000_003 * n + rep)
            target, model = table[log["context"]], np.tile(item_means(log, world.n_items), (n, 1))
            start = time.perf_counter()
            for name, value in our_estimates(solution, log, target, model).items():
                values[name].append(value)
            elapsed += time.perf_counter() - start
            if rep == 0:
                logs.append((log, target, model))
        cells = []
        for name in ESTIMATORS:
            errors = np.array(values[name]) - truth
            cells.append(f"{errors.mean():+.4f} / {np.sqrt((errors ** 2).mean()):.4f}")
        print(f"{n:7d} {reps:7d} " + " ".join(f"{c:>22s}" for c in cells) + f" {1000 * elapsed / reps:18.2f}",
              flush=True)
    print("   (each cell: bias / RMSE)")
    return logs


def regret_table(solution: dict, seeds: int) -> None:
    print()
    print(f"2. exact expected regret over {checks.LINUCB_ROUNDS} rounds (the linucb_regret check's protocol)")
    print(f"{'seed':>4s} {'LinUCB a=1':>11s} {'first/second half':>18s} {'eps-greedy':>11s} {'random':>8s} "
          f"{'LinUCB s':>9s}")
    rows = []
    for seed in range(seeds):
        start = time.perf_counter()
        history = solution["train_linucb"](gym.make(checks.ENV_ID), checks.LINUCB_ROUNDS, checks.LINUCB_ALPHA, seed)
        seconds = time.perf_counter() - start
        contexts, _ = checks.replay(history["actions"], seed)
        ours = checks.regret(history["actions"], contexts)
        eps = checks.regret(checks.baseline_actions("epsilon", checks.LINUCB_ROUNDS, seed), contexts).sum()
        rnd = checks.regret(checks.baseline_actions("random", checks.LINUCB_ROUNDS, seed), contexts).sum()
        half = checks.LINUCB_ROUNDS // 2
        rows.append((ours.sum(), eps, rnd))
        print(f"{seed:4d} {ours.sum():11.1f} {ours[:half].sum():8.1f} / {ours[half:].sum():7.1f} {eps:11.1f} "
              f"{rnd:8.1f} {seconds:9.2f}", flush=True)
    ours, eps, rnd = np.array(rows).T
    print(f"mean {ours.mean():11.1f} {'':18s} {eps.mean():11.1f} {rnd.mean():8.1f}   "
          f"(LinUCB / eps-greedy = {ours.mean() / eps.mean():.2f}, / random = {ours.mean() / rnd.mean():.2f})")


def obp_comparison(solution: dict, logs: list, probe: bool) -> None:
    print()
    print("3. Open Bandit Pipeline (obp) on the same logs")
    try:
        from obp import ope as obp_ope
    except ImportError as error:
        print(f"   obp is not installed ({error}); with the course's pins it cannot be:")
        print("   " + OBP_RESOLVER_REASON.replace("\n", "\n   "))
        if probe:
            print("   asking pip again (--probe-obp):")
            result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "obp",
                                     f"numpy=={np.__version__}"], capture_output=True, text=True)
            reason = [line for line in (result.stdout + result.stderr).splitlines()
                      if "conflict" in line or "depends on" in line or "requested" in line or "ERROR" in line]
            print("   " + "\n   ".join(reason or ["pip found a solution: install obp into the bench extra"]))
        return
    print(f"{'rounds':>7s} {'max |ours - obp|':>17s} {'ours ms':>8s} {'obp ms':>8s} {'obp / ours':>10s}")
    for log, target, model in logs:
        start = time.perf_counter()
        ours = our_estimates(solution, log, target, model)
        mid = time.perf_counter()
        theirs = obp_estimates(obp_ope, log, target, model)
        end = time.perf_counter()
        diff = max(abs(ours[name] - theirs[name]) for name in ESTIMATORS)
        print(f"{len(log['action']):7d} {diff:17.2e} {1000 * (mid - start):8.2f} {1000 * (end - mid):8.2f} "
              f"{(end - mid) / (mid - start):10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--probe-obp", action="store_true", help="ask pip whether obp installs now")
    args = parser.parse_args()
    solution = load_in_process(solution_sources("learning_from_logs"))
    logs = estimator_table(solution, args.repeats)
    regret_table(solution, args.seeds)
    obp_comparison(solution, logs, args.probe_obp)


if __name__ == "__main__":
    main()
