"""Batch grading of a whole class: parallel, isolated, race-free; a student's failing code costs only that
student's points, is reported, and never loses a result."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grading.batch import batch_grade, nbgrader_command, nbgrader_env, summary
from tests.corpus.tabular_q_learning import UNTRAINED, UNTRAINED_POINTS
from tests.e2e import assignment_folder, make_course
from tests.helpers import notebook_of

NOTEBOOK = "tabular_q_learning.ipynb"
ALICE = UNTRAINED_POINTS  # alice submits UNTRAINED


def with_extra_cell(release: Path, source: str) -> nbformat.NotebookNode:
    nb = nbformat.read(str(release), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course, folder, solution, release = make_course(tmp_path_factory.mktemp("class"), "tabular_q_learning")
    shutil.rmtree(course / "submitted", ignore_errors=True)
    students = {
        "alice": notebook_of("tabular_q_learning", UNTRAINED),  # erin trains: the costly learning check, once
        "bob": nbformat.read(str(release), as_version=4),
        "carol": with_extra_cell(release, "import os\nos._exit(3)"),
        "dave": with_extra_cell(release, "while True:\n    pass"),
        "erin": with_extra_cell(solution, "hog = bytearray(64 * 2**30)"),
    }
    for student, nb in students.items():
        target = course / "submitted" / student / folder
        target.mkdir(parents=True)
        nbformat.write(nb, str(target / NOTEBOOK))
    with (course / "nbgrader_config.py").open("a") as config:  # dave's endless cell: the student's budget
        config.write("\nc.GradeInSandbox.timeout = 10\n")
    watcher = threading.Thread(target=_watch_for_daves_worker, daemon=True)
    watcher.start()
    try:
        results = batch_grade(course, folder, workers=2, progress=False)
    finally:
        stop_watching.set()
        watcher.join()
    return course, folder, {r.student: r for r in results}


SEEN: dict[str, bool] = {}  # whether dave's worker was seen while the batch ran (its label reached it)
stop_watching = threading.Event()


def _watch_for_daves_worker() -> None:
    while not stop_watching.wait(0.5):
        if student_processes("dave/tabular_q_learning"):
            SEEN["dave"] = True


def test_every_submission_has_a_result_and_the_right_score(graded):
    course, folder, results = graded
    assert set(results) == {"alice", "bob", "carol", "dave", "erin"}
    assert results["erin"].ok and results["erin"].points == 40  # its kernel's memory bomb failed alone
    assert results["alice"].ok and results["alice"].points == ALICE
    assert results["bob"].ok and results["bob"].points == 0
    assert results["carol"].ok and results["carol"].points == 0  # its kernel died; graded all the same


def test_a_submission_that_hangs_costs_only_its_own_points_and_is_reported(graded):
    """dave's endless cell is bounded by the student's own budget (the cell time-out), not by the batch's limit
    on a job (the machinery's): it is interrupted, the rest of his notebook is graded, and his record says so."""
    _, _, results = graded
    dave = results["dave"]
    assert dave.status == "graded" and dave.points == 0
    assert any("10 s" in error for error in dave.record.cell_errors), dave.record.cell_errors
    text = summary(list(results.values()), 40)
    assert "5 submissions: 5 graded, 0 unchanged, 0 not gradable (0 points), 0 failed (0 points), 0 not graded" \
        in text


def student_processes(label: str) -> list[str]:
    """Command lines of the sandbox workers (the processes that run student code) whose label (``rlir-job=...``,
    the student and assignment whose work they run) is ``label``: not those of other tests running beside this
    one, nor of other graders on the machine."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "autograder.sandbox.worker" in line and f" rlir-job={label} " in f"{line} ":
            found.append(line)
    return found


def processes_gone(label: str, within: float = 10.0) -> bool:
    """Whether the workers labelled ``label`` are gone within ``within`` seconds (the jail's PID namespace ends
    them a moment after its first process is killed)."""
    deadline = time.monotonic() + within
    while student_processes(label) and time.monotonic() < deadline:
        time.sleep(0.2)
    return student_processes(label) == []


def test_a_timed_out_submission_leaves_no_student_process_running(graded):
    """dave's cell spins forever: interrupting it, then ending his grading, must take the sandbox with it."""
    assert SEEN.get("dave"), "dave's worker was never seen running: its label did not reach its command line"
    assert processes_gone("dave/tabular_q_learning")


def test_a_sandbox_worker_names_whose_work_it_runs():
    """The label that test relies on: a worker's command line ends with whose submission it grades."""
    from autograder.sandbox import Sandbox

    with Sandbox([("<cell>", "x = 1")], label="zoe/tabular_q_learning"):
        assert student_processes("zoe/tabular_q_learning")  # (the worker, and the jail's processes around it)
    assert processes_gone("zoe/tabular_q_learning")


def test_a_job_starts_nbgrader_without_compiling_grammars():
    """What every batch job pays before any grading (pyproject.toml pins jsonschema for it): nbgrader's start-up
    imports nbformat, and jsonschema 4.25+ would import rfc3987-syntax with it, which compiles 38 Earley
    grammars (1.4 CPU s a process). A job runs nbgrader's steps in one process (2 commands, 1 interpreter)."""
    from autograder.grading import nbgrader_steps

    probe = "import nbgrader.apps.nbgraderapp, sys; print(sorted({'lark', 'rfc3987_syntax'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], env=nbgrader_env(), capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"
    command = nbgrader_steps.command(nbgrader_steps.grading("01_x", "zoe", "--GradeInSandbox.job=j.json"))
    assert command[:3] == [sys.executable, "-m", "autograder.grading.nbgrader_steps"] and len(command) == 4
    assert [step[0] for step in json.loads(command[3])] == ["autograde", "generate_feedback"]


def test_results_are_merged_into_the_course_gradebook_and_folders(graded):
    from nbgrader.api import Gradebook

    course, folder, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission(folder, s).score for s in ("alice", "bob", "carol", "dave", "erin")}
    assert scores == {"alice": ALICE, "bob": 0, "carol": 0, "dave": 0, "erin": 40}
    assert (course / "autograded" / "alice" / folder / NOTEBOOK).exists()
    assert "Property failed:" in (course / "feedback" / "bob" / folder / "tabular_q_learning.html").read_text()


def test_every_submission_has_a_grading_record_that_the_gradebook_agrees_with(graded):
    from nbgrader.api import Gradebook

    from autograder.grading.record import load_record, record_path

    course, folder, results = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, result in results.items():
            record = load_record(record_path(course, student, folder))
            assert record.student == student and record.status == "graded" and record.max_points == 40
            assert record.points == result.points == gradebook.find_submission(folder, student).score
            assert [c.grade_id for c in record.cells] == [c.grade_id for c in result.record.cells]
    bob = load_record(record_path(course, "bob", folder))
    failed = bob.cell("update_fixed_point")
    assert not failed.passed and failed.error == "CheckFailure" and failed.property and failed.input
    assert failed.expected and failed.got and failed.hint and failed.property in failed.message
    assert failed.fingerprint.startswith("sha256:") and bob.submission_fingerprint.startswith("sha256:")


def test_nbgrader_export_reads_the_merged_gradebook(graded):
    course, folder, _ = graded
    subprocess.run(nbgrader_command("export", "--to", str(course / "grades.csv")), cwd=course, check=True,
                   capture_output=True, env=nbgrader_env())
    rows = (course / "grades.csv").read_text().splitlines()
    erin = next(row for row in rows if ",erin," in row)
    assert ",40.0," in erin


def test_the_cli_reports_infrastructure_failure_with_exit_code_2(tmp_path):
    from autograder.__main__ import main

    (tmp_path / "source" / assignment_folder("tabular_q_learning")).mkdir(parents=True)
    (tmp_path / "nbgrader_config.py").write_text("raise RuntimeError('broken config')\n")
    assert main(["batch", assignment_folder("tabular_q_learning"), "--course", str(tmp_path)]) == 2
