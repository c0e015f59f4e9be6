"""Benchmark of batch grading: a synthetic class of mixed submissions, graded with 1 and with 2 workers.

For every assignment in source/ the class holds correct submissions (the instructor notebook), untouched
releases, buggy ones (mutants from tests/corpus/<assignment>.py) and, for assignment 1, adversarial ones
(tests/corpus/adversarial.py). Prints, per assignment and worker count: submissions, wall seconds,
seconds per submission and submissions per hour (nothing is asserted).

Usage: .venv/bin/python benchmarks/batch_grading.py [--total 50] [--workers 1 2]
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

from autograder.batch import batch_grade, nbgrader_command, nbgrader_env  # noqa: E402
from autograder.notebook import assignment_id  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=50, help="submissions in all, spread over the assignments")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
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
