"""Time every code cell of a notebook, run top to bottom as in a student's Jupyter (teaching runs in full) or as
grading runs it (``--as-graded``): CPU and wall seconds per cell, and the machine's load, so that the run times
the notebooks state are measured (a shared machine's wall time is its load's as much as the code's).

    python benchmarks/notebook_times.py source/02_dqn/dqn.ipynb [--as-graded]

One notebook per process (the cells share one namespace). Prints, never asserts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.validate import validate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--as-graded", action="store_true", help="teaching runs shortened, as under grading")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="list cells that took at least this long")
    args = parser.parse_args()
    path = args.notebook.resolve()
    os.chdir(path.parent)
    load, start = os.getloadavg(), time.perf_counter()
    outcomes = validate(path, report=lambda line: None, shorten_teaching_runs=args.as_graded, timeout=3600)
    wall = time.perf_counter() - start
    mode = "as graded" if args.as_graded else "teaching runs in full"
    print(f"{path.name} ({mode}), {os.cpu_count()} cores, load average {load[0]:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    print(f"{'cell':>5}  {'kind':<7} {'name':<36} {'CPU s':>8} {'wall s':>8}  ok")
    for o in outcomes:
        if max(o.seconds, o.cpu_seconds) >= args.min_seconds:
            kind = "graded" if o.graded else "cell"
            ok = "yes" if o.ok else f"NO: {o.message[:80]}"
            print(f"{o.index:>5}  {kind:<7} {o.name:<36} {o.cpu_seconds:8.1f} {o.seconds:8.1f}  {ok}")
    print(f"total: CPU {sum(o.cpu_seconds for o in outcomes):.1f} s, wall {wall:.1f} s")


if __name__ == "__main__":
    main()
