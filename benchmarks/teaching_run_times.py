"""CPU and wall seconds of the long runs the notebooks talk about, on the instructor's solution, so that the
times the notebooks state are measured: assignment 2's comparison of DQN variants (one run per variant) and
assignment 4's two learning checks. Prints the machine's load beside them (wall time on a shared machine is
its load's as much as the code's). Prints, never asserts.

    python benchmarks/teaching_run_times.py dqn-comparison --steps 25000
    python benchmarks/teaching_run_times.py reinforce-checks
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.toolkit.cells import is_graded_test_cell, is_install_cell  # noqa: E402
from autograder.validate import read_cells  # noqa: E402


def instructor_namespace(folder: str) -> dict:
    """Every code cell of the source notebook up to its first teaching run after the answers, run here:
    the setup cells and the instructor's answers (no graded cells, no teaching cells)."""
    os.environ.pop("NBGRADER_EXECUTION", None)
    os.environ["MPLBACKEND"] = "Agg"
    namespace: dict = {"__name__": "__main__"}
    for cell in read_cells(next((ROOT / "source" / folder).glob("*.ipynb"))):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] != "code" or is_install_cell(cell) or is_graded_test_cell(cell):
            continue
        if meta.get("solution") or meta.get("locked"):
            exec(compile(cell["source"], f"<{meta.get('grade_id')}>", "exec"), namespace)  # noqa: S102
    return namespace


def timed(label: str, run) -> None:
    load, cpu, wall = os.getloadavg()[0], time.process_time(), time.perf_counter()
    detail = run()
    print(f"{label:<40} CPU {time.process_time() - cpu:7.1f} s  wall {time.perf_counter() - wall:7.1f} s  "
          f"(load {load:.1f} -> {os.getloadavg()[0]:.1f})  {detail or ''}", flush=True)


def dqn_comparison(steps: int) -> None:
    ns = instructor_namespace("02_dqn")
    gym = ns["gym"]
    variants = {"vanilla DQN": {}, "double DQN": {"double": True}, "dueling DQN": {"dueling": True},
                "prioritised replay": {"prioritized": True}}
    for name, extension in variants.items():
        config = {**ns["DQN_DEFAULTS"], "eval_every": 500 if steps < 10_000 else 2000, **extension}

        def run(config=config):
            _, returns = ns["train_dqn"](gym.make("CartPole-v1"), steps, config, seed=0)
            return f"best evaluation {returns.max():.0f}"
        timed(f"train_dqn {name}, {steps} steps", run)


def reinforce_checks() -> None:
    from autograder.assignments import reinforce

    ns = instructor_namespace("04_reinforce")
    for check in (reinforce.check_reinforce_cartpole, reinforce.check_reinforce_point_reach):
        timed(check.check_name, lambda check=check: check(ns["train_reinforce"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["dqn-comparison", "reinforce-checks"])
    parser.add_argument("--steps", type=int, default=50_000)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}", flush=True)
    dqn_comparison(args.steps) if args.what == "dqn-comparison" else reinforce_checks()


if __name__ == "__main__":
    main()
