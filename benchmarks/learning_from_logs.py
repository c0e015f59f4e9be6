"""Benchmark of assignment 7 (learning from logs): the instructor solution's off-policy estimators against the
exact value, LinUCB's regret against ε-greedy and random, and Open Bandit Pipeline (obp) where it installs.

Prints tables (nothing is asserted):

1. for log sizes 10^2..10^5 of ``rlir/ContextualRecommendation-v0``'s logging policy, the bias and RMSE of IPS,
   SNIPS, clipped IPS (M = 5), the direct method and doubly robust against the target policy's exact value
   (the notebook's target: the favourite item of a noisy estimate of the click rates with probability 0.9; DM
   and DR use a context-free reward model, each item's mean logged reward, so DM is biased), and the time per call;
2. LinUCB (α = 1, the grading check's setting) against the grader's ε-greedy (ε = 0.1) and random items:
   exact expected regret over 3,000 rounds on several seeds;
3. Open Bandit Pipeline (obp 0.4.1, in the ``bench`` extra and requirements.lock) on the same logs: IPS, SNIPS,
   DM and DR, the largest difference from the course's estimates and the time per call of each. Clipped IPS
   (obp's ``lambda_``) exists only from obp 0.5 on, whose releases need Python < 3.11 and torch==1.12: it is
   compared when such an obp is importable (a separate environment), and otherwise the reason is printed.

Usage: .venv/bin/python benchmarks/learning_from_logs.py [--repeats 200] [--seeds 5] [--probe-obp]
(``--probe-obp`` asks pip, in a dry run, whether the latest obp would install beside the course's pins, and
prints pip's answer with its exit code.)
"""

from __future__ import annotations

import argparse
import inspect
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
MAX_WEIGHT = 5.0  # M of clipped IPS, as in the notebook
CLIPPED = f"clipped IPS (M={MAX_WEIGHT:g})"
ESTIMATORS = ("IPS", "SNIPS", CLIPPED, "DM", "DR")
OBP_VERSION = "0.4.1"  # the version of the bench extra (pyproject.toml, requirements.lock)
# Why obp 0.5.7 (clipped IPS) is not beside the pins, as pip said on 2026-12-03 in a venv with every pin of
# requirements.lock installed (Python 3.11.7): `pip install --dry-run obp==0.5.7` exits 1 with "Package 'obp'
# requires a different Python: 3.11.7 not in '<3.11,>=3.8'" and "obp 0.5.7 depends on torch==1.12" (with numpy
# pinned too, pip names "obp 0.5.7 depends on numpy==1.23.5" first); this machine has no Python older than 3.11.
OBP_LATEST_REASON = ("obp 0.4.1's IPW has no lambda_ (clipping); obp 0.5.7, the latest release, requires Python "
                     "<3.11 and torch==1.12: it cannot be installed beside the course's pins (Python 3.11, "
                     "torch 2.13.0); compare it in a separate Python 3.10 environment")


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
            CLIPPED: solution["clipped_ips_estimate"](log, target, MAX_WEIGHT),
            "DM": solution["dm_estimate"](log, target, model), "DR": solution["dr_estimate"](log, target, model)}


def obp_estimators(obp_ope) -> dict[str, tuple[object, bool]]:
    """obp's estimator for each of ours that this obp has: name -> (estimator, uses the reward model)."""
    found = {"IPS": (obp_ope.InverseProbabilityWeighting(), False),
             "SNIPS": (obp_ope.SelfNormalizedInverseProbabilityWeighting(), False),
             "DM": (obp_ope.DirectMethod(), True), "DR": (obp_ope.DoublyRobust(), True)}
    if "lambda_" in inspect.signature(obp_ope.InverseProbabilityWeighting).parameters:  # obp >= 0.5
        found[CLIPPED] = (obp_ope.InverseProbabilityWeighting(lambda_=MAX_WEIGHT), False)
    return found


def obp_estimate(estimator, uses_model: bool, log: dict, target: np.ndarray, model: np.ndarray) -> float:
    """One obp estimate (action_dist and the reward model have shape (n, K, 1): one position)."""
    kwargs = {"reward": log["reward"], "action": log["action"], "pscore": log["propensity"],
              "action_dist": target[:, :, None], "position": np.zeros(len(log["action"]), dtype=int)}
    if uses_model:
        kwargs["estimated_rewards_by_reg_model"] = model[:, :, None]
    return float(estimator.estimate_policy_value(**kwargs))


def our_estimate(solution: dict, name: str, log: dict, target: np.ndarray, model: np.ndarray) -> float:
    calls = {"IPS": lambda: solution["ips_estimate"](log, target),
             "SNIPS": lambda: solution["snips_estimate"](log, target),
             CLIPPED: lambda: solution["clipped_ips_estimate"](log, target, MAX_WEIGHT),
             "DM": lambda: solution["dm_estimate"](log, target, model),
             "DR": lambda: solution["dr_estimate"](log, target, model)}
    return float(calls[name]())


def per_call_ms(function, *args, repeats: int = 20) -> tuple[float, float]:
    """(function(*args), the median time of a call in ms)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = function(*args)
        times.append(time.perf_counter() - start)
    return value, 1000 * float(np.median(times))


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


def probe_latest_obp() -> None:
    """Ask pip (a dry run) whether the latest obp installs beside the course's pins; print its answer."""
    pins = [f"numpy=={np.__version__}", f"torch=={torch_version()}"]
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--disable-pip-version-check",
                             "obp==0.5.7", *pins], capture_output=True, text=True)
    print(f"   pip install --dry-run obp==0.5.7 {' '.join(pins)}: exit code {result.returncode}")
    if result.returncode == 0:
        print("   pip found a solution: obp 0.5.7 would install beside the pins")
        return
    reason = [line.strip() for line in (result.stdout + result.stderr).splitlines()
              if "requires a different Python" in line or "depends on" in line or "ResolutionImpossible" in line]
    print("   " + "\n   ".join(reason or ["(no reason in pip's output)"]))


def torch_version() -> str:
    from importlib.metadata import version

    return version("torch").split("+")[0]


def obp_comparison(solution: dict, logs: list, probe: bool) -> None:
    print()
    print("3. Open Bandit Pipeline (obp) on the same logs")
    try:
        import obp
        from obp import ope as obp_ope
    except ImportError as error:
        print(f"   obp is not installed ({error}): install the bench extra (obp=={OBP_VERSION}), e.g. "
              "`.venv/bin/python -m pip install -r requirements.lock`")
    else:
        estimators = obp_estimators(obp_ope)
        print(f"   obp {obp.__version__}: {', '.join(estimators)}")
        print(f"{'rounds':>7s} {'estimator':>20s} {'|ours - obp|':>13s} {'ours ms':>8s} {'obp ms':>8s} "
              f"{'obp / ours':>10s}")
        for log, target, model in logs:
            for name, (estimator, uses_model) in estimators.items():
                ours, ours_ms = per_call_ms(our_estimate, solution, name, log, target, model)
                theirs, obp_ms = per_call_ms(obp_estimate, estimator, uses_model, log, target, model)
                print(f"{len(log['action']):7d} {name:>20s} {abs(ours - theirs):13.2e} {ours_ms:8.3f} "
                      f"{obp_ms:8.3f} {obp_ms / ours_ms:10.1f}", flush=True)
        if CLIPPED not in estimators:
            print(f"   clipped IPS is not compared: {OBP_LATEST_REASON}.")
    if probe:
        print("   asking pip whether the latest obp installs here (--probe-obp):")
        probe_latest_obp()


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
