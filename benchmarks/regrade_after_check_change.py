"""Benchmark: regrading a class after one non-learning check changed, against grading it from scratch.

A class of assignment 2 (dqn): the instructor solution, the untouched release and mutants from
tests/corpus/dqn.py. The class is graded from scratch (``batch --force``), then one graded cell that is no
learning check (default ``td_loss``) is edited in the course's source notebook, which changes that cell's
fingerprint and no other, and the class is graded again: every notebook runs again, only that cell is judged
again, the other verdicts (the learning check above all) are reused. Prints per run the wall seconds and, per
submission on average, the seconds of the notebook's own cells, of the checks judged, and of the rest of the job
(nbgrader, feedback, starting the sandbox), then the ratio (nothing is asserted).

Usage: .venv/bin/python benchmarks/regrade_after_check_change.py [--students 4] [--workers 2] [--check td_loss]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.grading.batch import batch_grade, nbgrader_command, nbgrader_env  # noqa: E402

FOLDER = "02_dqn"
NOTEBOOK = "dqn.ipynb"


def make_class(course: Path, students: int) -> None:
    """``students`` submissions: the solution, the release, then mutants of the corpus, in that order."""
    from tests.corpus.dqn import MUTANTS

    source = ROOT / "source" / FOLDER / NOTEBOOK
    notebooks = [nbformat.read(str(source), 4), nbformat.read(str(ROOT / "release" / FOLDER / NOTEBOOK), 4)]
    for mutant in MUTANTS:
        nb = nbformat.read(str(source), 4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == f"answer_{mutant.function}":
                cell.source = mutant.source
        notebooks.append(nb)
    for i, nb in enumerate(notebooks[:students]):
        target = course / "submitted" / f"s{i:03d}" / FOLDER
        target.mkdir(parents=True)
        nbformat.write(nb, str(target / NOTEBOOK))


def change_check(course: Path, grade_id: str) -> None:
    """Edit one graded cell of the course's source notebook (a clarified comment: its fingerprint changes)."""
    path = course / "source" / FOLDER / NOTEBOOK
    nb = nbformat.read(str(path), 4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source += "\n# clarified after grading\n"
    nbformat.write(nb, str(path))


def run(course: Path, workers: int, force: bool) -> tuple[float, list]:
    start = time.perf_counter()
    results = batch_grade(course, FOLDER, workers=workers, progress=False, force=force)
    return time.perf_counter() - start, results


def breakdown(results: list) -> tuple[float, float, float]:
    """Mean seconds per submission: the notebook's cells, the checks judged, the rest of the job."""
    records = [r.record for r in results if r.record is not None and r.status == "graded"]
    if not records:
        return 0.0, 0.0, 0.0
    cells = sum(r.seconds.get("cells", 0.0) for r in records) / len(records)
    checks = sum(r.seconds.get("checks", 0.0) for r in records) / len(records)
    job = sum(r.seconds for r in results if r.status == "graded") / len(records)
    return cells, checks, job - cells - checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--check", default="td_loss", help="the graded cell to change (not a learning check)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rlir-regrade-") as scratch:
        course = Path(scratch)
        course.chmod(0o755)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "source" / FOLDER, course / "source" / FOLDER)
        subprocess.run(nbgrader_command("generate_assignment", FOLDER), cwd=course, env=nbgrader_env(),
                       capture_output=True, check=True)
        make_class(course, args.students)
        scratch_wall, scratch_results = run(course, args.workers, force=True)
        change_check(course, args.check)
        regrade_wall, regrade_results = run(course, args.workers, force=False)
    print(f"{args.students} submissions of {FOLDER}, {args.workers} workers; changed: {args.check}")
    print(f"{'run':<28} {'wall s':>8} {'cells s':>8} {'checks s':>9} {'rest s':>7}  (per submission)")
    for name, wall, results in (("from scratch (--force)", scratch_wall, scratch_results),
                                ("after the check changed", regrade_wall, regrade_results)):
        cells, checks, rest = breakdown(results)
        statuses = ", ".join(f"{s}: {sum(r.status == s for r in results)}" for s in sorted({r.status for r in results}))
        print(f"{name:<28} {wall:>8.0f} {cells:>8.1f} {checks:>9.1f} {rest:>7.1f}  [{statuses}]")
    print(f"regrade / scratch: {regrade_wall / scratch_wall:.0%} of the wall time")


if __name__ == "__main__":
    main()
