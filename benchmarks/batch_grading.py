"""Benchmark of batch grading.

Default: a synthetic class of mixed submissions, graded with 1 and with 2 workers. For every assignment in
source/ the class holds correct submissions (the instructor notebook), untouched releases, buggy ones (mutants
from tests/corpus/<assignment>.py) and, for assignment 1, adversarial ones (tests/corpus/adversarial.py).
Prints, per assignment and worker count: submissions, wall seconds, seconds per submission and submissions per
hour (nothing is asserted).

``--course-vs REV``: a full course (every student submits the instructor solution of every assignment), graded
with 2 workers by this tree and by the grader at git revision REV (checked out in a temporary worktree, run with
the same virtual environment), in one run. Prints per assignment the seconds per submission (each submission's
own grading time) and the wall seconds per student with 2 workers, for both, and the speed-up as a ratio.

Usage: .venv/bin/python benchmarks/batch_grading.py [--total 50] [--workers 1 2]
       .venv/bin/python benchmarks/batch_grading.py --course-vs aec84dd [--students 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import importlib
import itertools
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
from autograder.grading.notebook import assignment_id  # noqa: E402


def variants(folder: str) -> list[tuple[str, nbformat.NotebookNode]]:
    """(kind, notebook) for every kind of submission we can make for this assignment, in a fixed order."""
    (source,) = sorted((ROOT / "source" / folder).glob("*.ipynb"))
    release = ROOT / "release" / folder / source.name
    out = [("correct", nbformat.read(str(source), 4)), ("untouched", nbformat.read(str(release), 4))]
    corpus = importlib.import_module(f"tests.corpus.{assignment_id(folder)}")
    for mutant in getattr(corpus, "MUTANTS", []):
        nb = nbformat.read(str(source), 4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == f"answer_{mutant.function}":
                cell.source = mutant.source
        out.append((f"buggy:{mutant.name}", nb))
    if assignment_id(folder) == "tabular_q_learning":
        from tests.corpus.adversarial import ATTACKS

        for attack in ATTACKS:
            nb = nbformat.read(str(source), 4)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in attack.cells:
                    cell.source = attack.cells[grade_id]
            out.append((f"adversarial:{attack.name}", nb))
    return out


def make_class(course: Path, folder: str, count: int) -> list[str]:
    """Write ``count`` submissions cycling through the kinds (correct, untouched, buggy, adversarial)."""
    ordered = variants(folder)
    kinds = []
    for index, (kind, nb) in zip(range(count), itertools.cycle(ordered), strict=False):
        student = f"s{index:03d}"
        target = course / "submitted" / student / folder
        target.mkdir(parents=True)
        name = next((ROOT / "source" / folder).glob("*.ipynb")).name
        nbformat.write(nb, str(target / name))
        kinds.append(kind)
    return kinds


# Run in a fresh interpreter whose ``autograder`` is the tree being measured (PYTHONPATH): grade ``students``
# copies of the instructor solution of one assignment with ``workers`` workers; print wall and per-job seconds.
_MEASURE = """
import json, shutil, subprocess, sys, tempfile, time
from pathlib import Path
from autograder.grading.batch import batch_grade, nbgrader_command, nbgrader_env
tree, folder, students, workers = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with tempfile.TemporaryDirectory(prefix="rlir-bench-") as scratch:
    course = Path(scratch)
    shutil.copy(tree / "nbgrader_config.py", course)
    shutil.copytree(tree / "source" / folder, course / "source" / folder)
    subprocess.run(nbgrader_command("generate_assignment", folder), cwd=course, env=nbgrader_env(),
                   capture_output=True, check=True)
    (source,) = sorted((course / "source" / folder).glob("*.ipynb"))
    for i in range(students):
        target = course / "submitted" / f"s{i:03d}" / folder
        target.mkdir(parents=True)
        shutil.copy(source, target / source.name)
    start = time.perf_counter()
    results = batch_grade(course, folder, workers=workers, progress=False)
    wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "seconds": [r.seconds for r in results], "points": [r.points for r in results],
                  "ok": [r.ok for r in results]}))
"""


def measure(tree: Path, folder: str, students: int, workers: int) -> dict:
    """Grade ``students`` instructor solutions of ``folder`` with the grader in ``tree``."""
    import json

    env = dict(nbgrader_env(), PYTHONPATH=str(tree))
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(tree), folder, str(students), str(workers)],
                            cwd=tree, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"grading {folder} with {tree} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _points(data: dict) -> str:
    """The lowest score of the run, with a mark if any submission failed to grade (its time means little)."""
    return f"{min(data['points']):g}" + ("" if all(data["ok"]) else " (failed)")


def course_versus(revision: str, students: int, workers: int) -> None:
    """This tree against ``revision`` on a full course, in one run."""
    folders = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory(prefix="rlir-baseline-") as scratch:
        Path(scratch).chmod(0o755)  # (mode 700 from mkdtemp: the sandbox user could not enter the old tree)
        baseline = Path(scratch) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(baseline), revision], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            common = [f for f in folders if (baseline / "source" / f).is_dir()]
            print(f"full course: {students} students x {len(common)} assignments (instructor solutions), "
                  f"{workers} workers; before = {revision}, after = this tree")
            print(f"{'assignment':<24} {'s/sub before':>12} {'s/sub after':>12} {'ratio':>6} "
                  f"{'wall/student before':>20} {'after':>8} {'points before':>14} {'after':>6}")
            totals = {"before": [0.0, 0.0], "after": [0.0, 0.0]}
            for folder in common:
                row = {}
                for label, tree in (("before", baseline), ("after", ROOT)):
                    data = measure(tree, folder, students, workers)
                    per_sub = sum(data["seconds"]) / students
                    per_student = data["wall"] / students
                    totals[label][0] += per_sub
                    totals[label][1] += per_student
                    row[label] = (per_sub, per_student, data)
                (b_sub, b_wall, before), (a_sub, a_wall, after) = row["before"], row["after"]
                print(f"{folder:<24} {b_sub:>12.1f} {a_sub:>12.1f} {b_sub / a_sub:>6.2f} {b_wall:>20.1f} "
                      f"{a_wall:>8.1f} {_points(before):>14} {_points(after):>6}", flush=True)
            (b_sub, b_wall), (a_sub, a_wall) = totals["before"], totals["after"]
            print(f"{'course (per student)':<24} {b_sub:>12.1f} {a_sub:>12.1f} {b_sub / a_sub:>6.2f} {b_wall:>20.1f} "
                  f"{a_wall:>8.1f}")
            print(f"speed-up (wall per student, {workers} workers): {b_wall / a_wall:.2f}x; "
                  f"students per hour after: {3600 / a_wall:.0f}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=50, help="submissions in all, spread over the assignments")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--course-vs", metavar="REV", help="a full course, this tree against git revision REV")
    parser.add_argument("--students", type=int, default=2, help="with --course-vs: students in the course")
    args = parser.parse_args()
    if args.course_vs:
        course_versus(args.course_vs, args.students, args.workers[-1])
        return
    folders = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())
    per_assignment = {f: args.total // len(folders) + (i < args.total % len(folders)) for i, f in enumerate(folders)}
    print(f"{'assignment':<24} {'workers':>7} {'subs':>5} {'failed':>6} {'wall s':>8} {'s/sub':>7} {'subs/h':>8}")
    totals: dict[int, list[float]] = {w: [0, 0.0] for w in args.workers}
    for folder in folders:
        for workers in args.workers:
            with tempfile.TemporaryDirectory(prefix="rlir-bench-") as scratch:
                course = Path(scratch)
                shutil.copy(ROOT / "nbgrader_config.py", course)
                shutil.copytree(ROOT / "source" / folder, course / "source" / folder)
                subprocess.run(nbgrader_command("generate_assignment", folder), cwd=course, env=nbgrader_env(),
                               capture_output=True, check=True)  # nbgrader runs alembic: the venv's bin on PATH
                make_class(course, folder, per_assignment[folder])
                start = time.perf_counter()
                results = batch_grade(course, folder, workers=workers, progress=False)
                wall = time.perf_counter() - start
            failed = sum(not r.ok for r in results)
            n = len(results)
            totals[workers][0] += n
            totals[workers][1] += wall
            print(f"{folder:<24} {workers:>7} {n:>5} {failed:>6} {wall:>8.0f} {wall / max(n, 1):>7.1f} "
                  f"{3600 * n / wall:>8.0f}")
    for workers, (n, wall) in totals.items():
        print(f"{'all':<24} {workers:>7} {int(n):>5} {'':>6} {wall:>8.0f} {wall / max(n, 1):>7.1f} "
              f"{3600 * n / wall:>8.0f}")


if __name__ == "__main__":
    main()
