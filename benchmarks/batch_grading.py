"""Benchmark of batch grading.

Default: a synthetic class of mixed submissions, graded with 1 and with 2 workers. For every assignment in
source/ the class holds correct submissions (the instructor notebook), untouched releases, buggy ones (mutants
from tests/corpus/<assignment>.py) and, for assignment 1, adversarial ones (tests/corpus/adversarial.py).
Prints, per assignment and worker count: submissions, wall seconds, seconds per submission and submissions per
hour (nothing is asserted).

``--course-vs REV``: a full course (every student submits the instructor solution of every assignment), graded
with 2 workers by this tree and by the grader at git revision REV (checked out in a temporary worktree, run with
the same virtual environment), in one run; ``--course``: this tree alone. Prints per assignment the seconds per
submission (each submission's own job), the wall seconds per student with 2 workers once the batch is set up
(what each further student costs), and the one-off setup of the batch (release, gradebook), then the totals and
the speed-up as ratios.

Usage: .venv/bin/python benchmarks/batch_grading.py [--total 50] [--workers 1 2]
       .venv/bin/python benchmarks/batch_grading.py --course-vs aec84dd [--students 2] [--workers 2]
       .venv/bin/python benchmarks/batch_grading.py --course [--students 4]
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
try:
    from autograder.grading import batch
except ImportError:  # a tree from before the grading package
    from autograder import batch
tree, folder, students, workers = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
setup = []
prepare = batch.prepare_template
def timed_prepare(*args, **kwargs):
    started = time.perf_counter()
    try:
        return prepare(*args, **kwargs)
    finally:
        setup.append(time.perf_counter() - started)
batch.prepare_template = timed_prepare
with tempfile.TemporaryDirectory(prefix="rlir-bench-") as scratch:
    course = Path(scratch)
    shutil.copy(tree / "nbgrader_config.py", course)
    shutil.copytree(tree / "source" / folder, course / "source" / folder)
    subprocess.run(batch.nbgrader_command("generate_assignment", folder), cwd=course, env=batch.nbgrader_env(),
                   capture_output=True, check=True)
    (source,) = sorted((course / "source" / folder).glob("*.ipynb"))
    for i in range(students):
        target = course / "submitted" / f"s{i:03d}" / folder
        target.mkdir(parents=True)
        shutil.copy(source, target / source.name)
    start = time.perf_counter()
    results = batch.batch_grade(course, folder, workers=workers, progress=False)
    wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "setup": sum(setup), "seconds": [r.seconds for r in results],
                  "points": [r.points for r in results], "ok": [r.ok for r in results]}))
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


def course_row(tree: Path, folder: str, students: int, workers: int) -> dict:
    """One assignment's figures: seconds per submission (its own job), the one-off setup of the batch (release
    and gradebook), and the wall seconds per student once set up (what each further student costs)."""
    data = measure(tree, folder, students, workers)
    return {"sub": sum(data["seconds"]) / students, "setup": data["setup"],
            "student": (data["wall"] - data["setup"]) / students, "points": _points(data)}


def course_versus(revision: str | None, students: int, workers: int) -> None:
    """This tree (and ``revision``, if given) on a full course, in one run."""
    folders = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory(prefix="rlir-baseline-") as scratch:
        Path(scratch).chmod(0o755)  # (mode 700 from mkdtemp: the sandbox user could not enter the old tree)
        baseline = Path(scratch) / "tree"
        if revision:
            subprocess.run(["git", "worktree", "add", "--detach", str(baseline), revision], cwd=ROOT, check=True,
                           capture_output=True)
        trees = ([("before", baseline)] if revision else []) + [("after", ROOT)]
        try:
            common = [f for f in folders if all((tree / "source" / f).is_dir() for _, tree in trees)]
            print(f"full course: {students} students x {len(common)} assignments (instructor solutions), {workers} "
                  f"workers; " + (f"before = {revision}, " if revision else "") + "after = this tree")
            print(f"{'assignment':<24}" + "".join(f" {label + ' s/sub':>13} {'wall/student':>12} {'setup s':>8} "
                                                  f"{'points':>7}" for label, _ in trees))
            totals = {label: {"sub": 0.0, "student": 0.0, "setup": 0.0} for label, _ in trees}
            for folder in common:
                line = f"{folder:<24}"
                for label, tree in trees:
                    row = course_row(tree, folder, students, workers)
                    for key in totals[label]:
                        totals[label][key] += row[key]
                    line += f" {row['sub']:>13.1f} {row['student']:>12.1f} {row['setup']:>8.1f} {row['points']:>7}"
                print(line, flush=True)
            print(f"{'course':<24}" + "".join(f" {totals[label]['sub']:>13.1f} {totals[label]['student']:>12.1f} "
                                              f"{totals[label]['setup']:>8.1f} {'':>7}" for label, _ in trees))
            after = totals["after"]
            print(f"per student, {workers} workers, once each assignment is set up: {after['student']:.1f} s wall "
                  f"({3600 / after['student']:.0f} students per hour); setting up the {len(common)} assignments "
                  f"once: {after['setup']:.0f} s")
            if revision:
                before = totals["before"]
                print(f"speed-up: wall per student {before['student'] / after['student']:.2f}x, "
                      f"seconds per submission {before['sub'] / after['sub']:.2f}x")
        finally:
            if revision:
                subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=50, help="submissions in all, spread over the assignments")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--course-vs", metavar="REV", help="a full course, this tree against git revision REV")
    parser.add_argument("--course", action="store_true", help="a full course, this tree only")
    parser.add_argument("--students", type=int, default=2, help="with --course-vs: students in the course")
    args = parser.parse_args()
    if args.course_vs or args.course:
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
