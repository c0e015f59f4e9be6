"""Where one submission's grading time goes, per assignment.

Grades the instructor solution of every assignment once with the trusted grader (no nbgrader around it) and
prints, per assignment: the sandbox's start-up and shutdown, the student's cells (all of them, in order), and
every graded cell's checks, in seconds, plus the points. Read it to see what bounds the grading cost of a
submission: usually one learning check's training budget. Nothing is asserted.

Usage: .venv/bin/python benchmarks/grading_breakdown.py [--assignments dqn reinforce] [--top 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.assignments import registry  # noqa: E402
from autograder.grading.notebook import grade_notebook, read_notebook  # noqa: E402


def breakdown(assignment: str) -> dict:
    """Grade the instructor notebook once; return the seconds of each part and the points."""
    nb = read_notebook(registry()[assignment].source_notebook())
    started = time.monotonic()
    verdict = grade_notebook(nb, assignment)
    total = time.monotonic() - started
    checks = {k: v for k, v in verdict.seconds.items() if k != "cells"}
    cells = verdict.seconds.get("cells", 0.0)
    return {"total": total, "cells": cells, "checks": checks,
            "overhead": total - cells - sum(checks.values()),
            "points": verdict.points, "max_points": verdict.max_points}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="*", default=list(registry()))
    parser.add_argument("--top", type=int, default=3, help="how many of the costliest graded cells to name")
    args = parser.parse_args()
    rows = [(a, breakdown(a)) for a in args.assignments]
    print(f"{'assignment':20} {'total s':>8} {'start+stop':>10} {'cells':>7} {'checks':>7} {'points':>9}  "
          f"costliest graded cells (s)")
    for assignment, row in rows:
        top = sorted(row["checks"].items(), key=lambda kv: -kv[1])[:args.top]
        print(f"{assignment:20} {row['total']:8.1f} {row['overhead']:10.1f} {row['cells']:7.1f} "
              f"{sum(row['checks'].values()):7.1f} {row['points']:4.0f}/{row['max_points']:<4.0f}  "
              + ", ".join(f"{k} {v:.1f}" for k, v in top))
    total = sum(row["total"] for _, row in rows)
    print(f"{'one student, serial':20} {total:8.1f}  (with 2 workers, at best {total / 2:.1f} s wall per student)")


if __name__ == "__main__":
    main()
