"""Batch grading of a whole class: parallel, isolated, race-free; failures cost one submission, are
reported, and never lose a result."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grading.batch import batch_grade, nbgrader_command, nbgrader_env, summary
from tests.e2e import assignment_folder, make_course

NOTEBOOK = "tabular_q_learning.ipynb"


def with_extra_cell(release: Path, source: str) -> nbformat.NotebookNode:
    nb = nbformat.read(str(release), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course, folder, solution, release = make_course(tmp_path_factory.mktemp("class"), "tabular_q_learning")
    shutil.rmtree(course / "submitted", ignore_errors=True)
    students = {
        "alice": nbformat.read(str(solution), as_version=4),
        "bob": nbformat.read(str(release), as_version=4),
        "carol": with_extra_cell(release, "import os\nos._exit(3)"),
        "dave": with_extra_cell(release, "while True:\n    pass"),
        "erin": with_extra_cell(solution, "hog = bytearray(64 * 2**30)"),
    }
    for student, nb in students.items():
        target = course / "submitted" / student / folder
        target.mkdir(parents=True)
        nbformat.write(nb, str(target / NOTEBOOK))
    results = batch_grade(course, folder, workers=2, timeout=75.0, progress=False)
    return course, folder, {r.student: r for r in results}


def test_every_submission_has_a_result_and_the_right_score(graded):
    course, folder, results = graded
    assert set(results) == {"alice", "bob", "carol", "dave", "erin"}
    assert results["erin"].ok and results["erin"].points == 40  # its kernel's memory bomb failed alone
    assert results["alice"].ok and results["alice"].points == 40
    assert results["bob"].ok and results["bob"].points == 0
    assert results["carol"].ok and results["carol"].points == 0  # its kernel died; graded all the same


def test_a_submission_that_hangs_costs_only_its_own_points_and_is_reported(graded):
    _, _, results = graded
    assert not results["dave"].ok and "longer than 75 s" in results["dave"].error
    text = summary(list(results.values()), 40)
    assert "FAILED dave" in text and "5 submissions: 4 graded, 1 failed" in text


def student_processes() -> list[str]:
    """Command lines of the sandbox workers (the processes that run student code) this checkout started: this
    venv's Python running autograder.sandbox.worker from this checkout's packages. Workers of other graders on the
    machine (say, the main job of another checkout) are not this test's business."""
    from autograder.sandbox import package_roots

    found = []
    for proc in Path("/proc").iterdir():
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if line.startswith(sys.prefix) and "autograder.sandbox.worker" in line and package_roots()[0] in line:
            found.append(line)
    return found


def test_a_timed_out_submission_leaves_no_student_process_running(graded):
    """dave's cell spins forever: killing his nbgrader at the time-out must take the sandbox with it."""
    deadline = time.monotonic() + 10
    while student_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert student_processes() == []


def test_results_are_merged_into_the_course_gradebook_and_folders(graded):
    from nbgrader.api import Gradebook

    course, folder, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission(folder, s).score for s in ("alice", "bob", "carol", "dave", "erin")}
    assert scores == {"alice": 40, "bob": 0, "carol": 0, "dave": 0, "erin": 40}
    assert (course / "autograded" / "alice" / folder / NOTEBOOK).exists()
    assert "Property failed:" in (course / "feedback" / "bob" / folder / "tabular_q_learning.html").read_text()


def test_nbgrader_export_reads_the_merged_gradebook(graded):
    course, folder, _ = graded
    subprocess.run(nbgrader_command("export", "--to", str(course / "grades.csv")), cwd=course, check=True,
                   capture_output=True, env=nbgrader_env())
    rows = (course / "grades.csv").read_text().splitlines()
    alice = next(row for row in rows if ",alice," in row)
    assert ",40.0," in alice


def test_the_cli_reports_infrastructure_failure_with_exit_code_2(tmp_path):
    from autograder.__main__ import main

    (tmp_path / "source" / assignment_folder("tabular_q_learning")).mkdir(parents=True)
    (tmp_path / "nbgrader_config.py").write_text("raise RuntimeError('broken config')\n")
    assert main(["batch", assignment_folder("tabular_q_learning"), "--course", str(tmp_path)]) == 2
