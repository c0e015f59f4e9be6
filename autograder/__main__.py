"""Command line of the autograder.

    python -m autograder grade NOTEBOOK [--assignment ID] [--tests INSTRUCTOR_NOTEBOOK]
        Grade one submitted notebook outside nbgrader and print each check's result.
    python -m autograder release [--course DIR]
        Compile every assignment in source/ into release/ with nbgrader generate_assignment.
    python -m autograder batch ASSIGNMENT [--course DIR] [--workers N] [--db URL] [--engine local|dask] [--force]
        Grade every changed submission of ASSIGNMENT in parallel, each isolated; write the gradebook, autograded/
        (with each grading.json) and feedback/; print a summary. Exit 2 if grading itself failed for anyone
        (their previous grade is kept).
    python -m autograder report ASSIGNMENT [--course DIR] [--out DIR] [--db URL] | --all
        The class report of graded assignments: report.json and a self-contained report.html (scores, pass rate
        and commonest failures per check, who was not graded and why, students with near-identical code).
    python -m autograder gradescope NOTEBOOK --assignment ID --tests INSTRUCTOR_NOTEBOOK --results results.json
        Grade one notebook and write Gradescope's results.json.
    python -m autograder gradescope-zip ASSIGNMENT_FOLDER --out autograder.zip
        Build the zip to upload as a Gradescope autograder for one assignment.
    python -m autograder demo [--course DIR]
        The main job: build the release, autograde the instructor solutions (and the untouched release) as
        sample students, write their feedback, and print a score table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.grading.notebook import assignment_id, read_notebook

SAMPLE_STUDENTS = {"instructor-solution": "source", "untouched-release": "release"}


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the nbgrader CLI in ``course`` with this interpreter's ``bin`` first on PATH (nbgrader runs
    ``alembic`` as a program)."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    command = [os.path.join(bin_dir, "nbgrader"), *args]
    result = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"nbgrader {' '.join(args)} failed with exit code {result.returncode}")
    return result


def assignments(course: Path) -> list[str]:
    """Assignment folders under source/, in course order."""
    return sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and not p.name.startswith("."))


def release(course: Path) -> None:
    """Regenerate release/ from source/ for every assignment."""
    for name in assignments(course):
        nbgrader(course, "generate_assignment", name, "--force")
        print(f"released {name}")


def submit_samples(course: Path, name: str) -> None:
    """Place the instructor solution and the untouched release as two students' submissions."""
    for student, folder in SAMPLE_STUDENTS.items():
        target = course / "submitted" / student / name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for notebook in (course / folder / name).glob("*.ipynb"):
            shutil.copy(notebook, target / notebook.name)


def score_table(course: Path) -> list[tuple[str, str, dict[str, float], float]]:
    """(assignment, check, {student: score}, max score) for every graded cell, from the gradebook."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for name in assignments(course):
            assignment = gradebook.find_assignment(name)
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    if cell.cell_type != "code":
                        continue
                    scores = {}
                    for student in SAMPLE_STUDENTS:
                        grade = gradebook.find_grade(cell.name, notebook.name, name, student)
                        scores[student] = grade.score
                    rows.append((name, cell.name, scores, cell.max_score))
    return rows


def print_table(rows: list[tuple[str, str, dict[str, float], float]]) -> None:
    students = list(SAMPLE_STUDENTS)
    header = f"{'assignment':<24} {'check':<38} " + " ".join(f"{s:>20}" for s in students)
    print(header)
    print("-" * len(header))
    totals = {s: 0.0 for s in students}
    total_max = 0.0
    for name, check, scores, max_score in rows:
        cells = " ".join(f"{scores[s]:>9g} / {max_score:<8g}" for s in students)
        print(f"{name:<24} {check:<38} {cells}")
        for s in students:
            totals[s] += scores[s]
        total_max += max_score
    print("-" * len(header))
    print(f"{'total':<24} {'':<38} " + " ".join(f"{totals[s]:>9g} / {total_max:<8g}" for s in students))


def demo(course: Path) -> int:
    release(course)
    for name in assignments(course):
        submit_samples(course, name)
        nbgrader(course, "autograde", name, "--force", "--create")
        nbgrader(course, "generate_feedback", name, "--force")
        print(f"graded and wrote feedback for {name}: {course / 'feedback'}")
    rows = score_table(course)
    print()
    print_table(rows)
    solution_total = sum(r[2]["instructor-solution"] for r in rows)
    return 0 if solution_total == sum(r[3] for r in rows) else 1


def grade_one(path: Path, assignment: str | None, tests: Path | None) -> int:
    """Grade a single notebook file (its folder is the submission) and print its grading record: every graded
    cell with its points and, on failure, the property, input, expected vs got and hint. Exit 1 when the
    notebook could not be graded at all."""
    from autograder.grading.grade import grade_submission
    from autograder.grading.submission import notebook_problem
    from autograder.sandbox import MachineBusy

    assignment = assignment or assignment_id(path.parent.name)
    trusted = read_notebook(tests) if tests else None
    if trusted is None:
        candidates = sorted((Path(__file__).resolve().parent.parent / "source").glob(f"*{assignment}/{path.name}"))
        if candidates:
            trusted = read_notebook(candidates[0])
        elif path.is_file() and not path.is_symlink() and not notebook_problem(path):
            print("warning: no instructor notebook found; the test cells are taken from the submission itself",
                  file=sys.stderr)
            trusted = read_notebook(path)
        else:
            trusted = nbformat.v4.new_notebook()
    try:
        record = grade_submission(path.parent, assignment, trusted={path.name: trusted}).record
    except MachineBusy as error:  # the machine's failure: no verdict rather than a wrong one
        print(f"grading infrastructure failed: {error}", file=sys.stderr)
        return 2
    print_record(record)
    return 1 if record.status == "refused" else 0


def print_record(record) -> None:
    """The grading record as the terminal shows it."""
    if record.refusal:
        print(f"NOT GRADED: {record.refusal}")
    for note in record.notes:
        print(f"note: {note}")
    for error in record.cell_errors:
        print(f"cell error: {error.splitlines()[0]}")
    for cell in record.cells:
        status = "PASS" if cell.passed else "FAIL"
        print(f"{status}  {cell.points:g}/{cell.max_points:g}  {cell.grade_id}")
        if not cell.passed:
            print("      " + f"{cell.error}: {cell.message}".replace("\n", "\n      "))
    print(f"TOTAL {record.points:g} / {record.max_points:g}")


def run_batch(args: argparse.Namespace) -> int:
    from autograder.grading.batch import InfrastructureError, batch_grade, summary, write_report

    try:
        results = batch_grade(args.course, args.assignment, workers=args.workers, db_url=args.db,
                              engine=args.engine, address=args.address, timeout=args.timeout, force=args.force)
    except InfrastructureError as error:
        print(f"grading infrastructure failed: {error}", file=sys.stderr)
        return 2
    max_points = sum(float(c.metadata.get("nbgrader", {}).get("points", 0))
                     for path in (args.course / "source" / args.assignment).glob("*.ipynb")
                     for c in read_notebook(path).cells if c.metadata.get("nbgrader", {}).get("grade"))
    print(summary(results, max_points))
    if args.report:
        write_report(results, args.report)
    return 2 if any(r.status == "infrastructure" for r in results) else 0


def run_report(args: argparse.Namespace) -> int:
    """Write and print the class report of one assignment (or of every one with ``--all``); exit 1 when none
    could be written (each assignment with nothing to report gets one line saying why)."""
    from autograder.grading.report import NothingToReport, build_report, table
    from autograder.grading.report_html import write

    course = args.course.resolve()
    folders = sorted(p.name for p in (course / "source").iterdir() if p.is_dir()) if args.all else [args.assignment]
    written = 0
    for folder in folders:
        out = (args.out / folder if args.all else args.out) if args.out else course / "reports" / folder
        try:
            report = build_report(course, folder, db_url=args.db)
        except NothingToReport as error:
            print(error)
            continue
        json_path, html_path = write(report, out)
        print(table(report))
        print(f"wrote {json_path} and {html_path}\n")
        written += 1
    return 0 if written else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade one notebook")
    grade.add_argument("notebook", type=Path)
    grade.add_argument("--assignment", help="assignment id (default: the notebook's folder name)")
    grade.add_argument("--tests", type=Path, help="instructor notebook whose test cells are trusted")
    for name in ("release", "demo"):
        sub = commands.add_parser(name)
        sub.add_argument("--course", type=Path, default=Path.cwd())
    batch = commands.add_parser("batch", help="grade a whole class in parallel")
    batch.add_argument("assignment", help="assignment folder, e.g. 01_tabular_q_learning")
    batch.add_argument("--course", type=Path, default=Path.cwd())
    batch.add_argument("--workers", type=int, default=2)
    batch.add_argument("--db", help="nbgrader db_url (default: the course's SQLite gradebook)")
    batch.add_argument("--engine", choices=("local", "dask"), default="local")
    batch.add_argument("--address", help="address of a running Dask scheduler (default: a local cluster)")
    batch.add_argument("--timeout", type=float, help="seconds one job may take before the machinery is deemed to "
                       "have failed (default: the student's budgets from the course config plus a margin)")
    batch.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    batch.add_argument("--report", type=Path, help="write the batch as JSON here: every student's status "
                       "(graded, unchanged, refused, failed, infrastructure) and the scores that changed")
    report = commands.add_parser("report", help="the class report of graded assignments")
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("assignment", nargs="?", help="assignment folder, e.g. 01_tabular_q_learning")
    which.add_argument("--all", action="store_true", help="every assignment in source/")
    report.add_argument("--course", type=Path, default=Path.cwd())
    report.add_argument("--out", type=Path, help="where report.json and report.html go (default: "
                        "COURSE/reports/ASSIGNMENT; with --all, one folder per assignment in it)")
    report.add_argument("--db", help="nbgrader db_url (default: the course's SQLite gradebook)")
    gradescope = commands.add_parser("gradescope", help="grade one notebook into Gradescope's results.json")
    gradescope.add_argument("notebook", type=Path)
    gradescope.add_argument("--assignment", required=True)
    gradescope.add_argument("--tests", type=Path, required=True, help="the instructor notebook")
    gradescope.add_argument("--results", type=Path, default=Path("/autograder/results/results.json"))
    package = commands.add_parser("gradescope-zip", help="build a Gradescope autograder zip")
    package.add_argument("assignment", help="assignment folder, e.g. 01_tabular_q_learning")
    package.add_argument("--out", type=Path, default=Path("autograder.zip"))
    args = parser.parse_args(argv)
    if args.command == "gradescope":
        from autograder.grading.gradescope import grade_to_results

        report = grade_to_results(args.notebook, args.assignment, args.tests, args.results)
        print(f"score {report['score']:g}; results written to {args.results}")
        return 0
    if args.command == "gradescope-zip":
        from autograder.grading.gradescope import build_zip

        print(f"wrote {build_zip(args.assignment, args.out)}")
        return 0
    if args.command == "batch":
        return run_batch(args)
    if args.command == "report":
        return run_report(args)
    if args.command == "grade":
        return grade_one(args.notebook, args.assignment, args.tests)
    if args.command == "release":
        release(args.course.resolve())
        return 0
    return demo(args.course.resolve())


if __name__ == "__main__":
    raise SystemExit(main())
