"""Benchmark of assignment 1: nbgrader timings, and how fast the reference Q-learning reaches the optimum.

Prints two tables (nothing is asserted):
1. wall seconds of ``nbgrader generate_assignment`` and of one ``nbgrader autograde`` of the instructor solution;
2. per seed, the episodes and CPU seconds until the greedy policy's exact success probability first reaches
   that of the value-iteration policy (within 0.001), next to value iteration's own cost.

Usage: .venv/bin/python benchmarks/tabular_q_learning.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.grading.batch import nbgrader_command, nbgrader_env  # noqa: E402
from autograder.grading.instructor import load_in_process, solution_sources  # noqa: E402
from rlir.frozenlake import make_frozenlake, optimal_success_probability, policy_success_probability  # noqa: E402

ASSIGNMENT = "01_tabular_q_learning"


def time_nbgrader() -> tuple[float, float]:
    """Seconds for generate_assignment and for autograding the instructor solution, in a scratch course."""
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
        env = nbgrader_env()
        start = time.perf_counter()
        subprocess.run(nbgrader_command("generate_assignment", ASSIGNMENT), cwd=course, env=env, check=True,
                       capture_output=True)
        generate = time.perf_counter() - start
        submitted = course / "submitted" / "bench" / ASSIGNMENT
        submitted.mkdir(parents=True)
        for notebook in (course / "source" / ASSIGNMENT).glob("*.ipynb"):
            shutil.copy(notebook, submitted)
        start = time.perf_counter()
        subprocess.run(nbgrader_command("autograde", ASSIGNMENT, "--create"), cwd=course, env=env, check=True,
                       capture_output=True)
        return generate, time.perf_counter() - start


def episodes_to_optimum(solution: dict, target: float, seed: int, n_episodes: int = 10_000,
                        every: int = 100) -> tuple[int | None, float]:
    """Train as the learning check does; return (first episode whose greedy policy reaches ``target``,
    training CPU seconds until then)."""
    env = make_frozenlake()
    rng = np.random.default_rng(seed)
    q = np.zeros((16, 4))
    decay = int(0.5 * n_episodes)
    cpu = 0.0
    for episode in range(n_episodes):
        start = time.process_time()
        epsilon = 1.0 + (0.01 - 1.0) * min(1.0, episode / decay)
        state, _ = env.reset(seed=seed if episode == 0 else None)
        while True:
            action = solution["epsilon_greedy"](q[state], epsilon, rng)
            next_state, reward, terminated, truncated, _ = env.step(action)
            solution["q_learning_update"](q, state, action, reward, next_state, terminated, 0.1, 0.99)
            state = next_state
            if terminated or truncated:
                break
        cpu += time.process_time() - start
        if (episode + 1) % every == 0 and policy_success_probability(env, q.argmax(axis=1)) >= target - 1e-3:
            return episode + 1, cpu
    return None, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--skip-nbgrader", action="store_true")
    args = parser.parse_args()

    if not args.skip_nbgrader:
        generate, autograde = time_nbgrader()
        print(f"{'nbgrader step':<40} {'wall s':>8}")
        print(f"{'generate_assignment ' + ASSIGNMENT:<40} {generate:>8.1f}")
        print(f"{'autograde (instructor solution)':<40} {autograde:>8.1f}")
        print()

    solution = load_in_process(solution_sources("tabular_q_learning"))
    env = make_frozenlake()
    start = time.process_time()
    _, q_star = solution["value_iteration"](env.unwrapped.P, 0.99)
    vi_cpu = time.process_time() - start
    vi_success = policy_success_probability(env, q_star.argmax(axis=1))
    print(f"best success probability within 100 steps: {optimal_success_probability(env):.4f}")
    print(f"value iteration (gamma 0.99): success {vi_success:.4f}, {vi_cpu:.3f} CPU s")
    print()
    print(f"{'seed':>4} {'episodes to VI success':>24} {'CPU s':>8}")
    reached = []
    for seed in range(args.seeds):
        episodes, cpu = episodes_to_optimum(solution, vi_success, seed)
        reached.append((episodes, cpu))
        print(f"{seed:>4} {episodes if episodes else 'not within 10000':>24} {cpu:>8.2f}")
    done = [r for r in reached if r[0]]
    if done:
        print(f"{'mean':>4} {np.mean([e for e, _ in done]):>24.0f} {np.mean([c for _, c in done]):>8.2f}"
              f"   ({len(done)}/{len(reached)} seeds reached it; Q-learning CPU / VI CPU = "
              f"{np.mean([c for _, c in done]) / max(vi_cpu, 1e-9):.0f}x)")


if __name__ == "__main__":
    main()
