"""Grading a class an instructor can trust and steer (issue 22): no grade is ever lost to the machinery, reruns
grade only what changed, a changed check is re-judged alone with the moved scores listed, submission times and
late penalties reach the gradebook, and a batch killed mid-way (or a Dask worker lost) ends as a clean run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grading.batch import batch_grade, nbgrader_env, summary
from autograder.grading.record import load_record, record_path
from tests.corpus.tabular_q_learning import UNTRAINED, UNTRAINED_POINTS
from tests.e2e import make_course
from tests.helpers import notebook_of

NOTEBOOK = "tabular_q_learning.ipynb"
DUE = "2026-12-01 12:00:00 UTC"
ON_TIME, LATE = "2026-12-01 10:00:00.000000 UTC", "2026-12-02 09:30:00.000000 UTC"
ALICE = UNTRAINED_POINTS  # alice submits UNTRAINED


def scores(course: Path, folder: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {s.student.id: s.score for s in gradebook.find_assignment(folder).submissions}


def submit(course: Path, folder: str, student: str, notebook: Path, timestamp: str | None = None) -> None:
    target = course / "submitted" / student / folder
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, target / NOTEBOOK)
    if timestamp:
        (target / "timestamp.txt").write_text(timestamp)


def class_course(tmp: Path) -> tuple[Path, str, Path, Path]:
    """Assignment 1 with a due date and nbgrader's "zero" late penalty; carol (late) submits the solution, alice
    (on time) the solution without train_q_learning (the costly learning check: the tests that grade alice again
    stay cheap), bob the untouched release."""
    from nbgrader.api import Gradebook

    course, folder, solution, release = make_course(tmp, "tabular_q_learning")
    shutil.rmtree(course / "submitted", ignore_errors=True)
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(folder, duedate=DUE)
    untrained = tmp / "untrained.ipynb"
    nbformat.write(notebook_of("tabular_q_learning", UNTRAINED), str(untrained))
    submit(course, folder, "alice", untrained, ON_TIME)
    submit(course, folder, "bob", release)
    submit(course, folder, "carol", solution, LATE)
    return course, folder, solution, release


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course, folder, solution, release = class_course(tmp_path_factory.mktemp("resume"))
    start = time.monotonic()
    results = batch_grade(course, folder, workers=2, progress=False)
    return course, folder, {r.student: r for r in results}, time.monotonic() - start


def test_submission_times_and_the_late_penalty_reach_the_gradebook(graded):
    from nbgrader.api import Gradebook

    course, folder, results, _ = graded
    assert {s: r.status for s, r in results.items()} == {"alice": "graded", "bob": "graded", "carol": "graded"}
    assert load_record(record_path(course, "carol", folder)).submitted_at == "2026-12-02 09:30:00 UTC"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        alice, carol = (gradebook.find_submission(folder, s) for s in ("alice", "carol"))
        assert str(alice.timestamp).startswith("2026-12-01 10:00") and alice.total_seconds_late == 0
        assert alice.score == ALICE and alice.late_submission_penalty == 0
        assert carol.total_seconds_late == 21.5 * 3600
        assert carol.score == 40 and carol.late_submission_penalty == 40  # nbgrader's "zero" method


def test_a_rerun_with_nothing_changed_grades_nobody_and_costs_a_small_fraction(graded, tmp_path):
    from autograder.__main__ import main

    course, folder, _, first = graded
    before = {s: load_record(record_path(course, s, folder)).graded_at for s in ("alice", "bob", "carol")}
    start = time.monotonic()
    assert main(["batch", folder, "--course", str(course), "--report", str(tmp_path / "report.json")]) == 0
    seconds = time.monotonic() - start
    report = json.loads((tmp_path / "report.json").read_text())
    assert {s["student"]: s["status"] for s in report["students"]} == dict.fromkeys(before, "unchanged")
    assert {s: load_record(record_path(course, s, folder)).graded_at for s in before} == before
    assert seconds < 0.25 * first, (seconds, first)


def test_a_machinery_failure_keeps_every_previous_grade_and_exits_2(graded, tmp_path, capsys):
    """Every job reaches the batch's limit (the machinery's): retried twice, then nobody's grade or record
    moves, the summary says who was not graded and why, and the command exits 2."""
    from autograder.__main__ import main

    course, folder, _, _ = graded
    before = scores(course, folder)
    records = {s: record_path(course, s, folder).read_bytes() for s in before}
    feedback = (course / "feedback" / "alice" / folder / "tabular_q_learning.html").read_bytes()
    code = main(["batch", folder, "--course", str(course), "--force", "--timeout", "1",
                 "--report", str(tmp_path / "report.json")])
    assert code == 2
    report = json.loads((tmp_path / "report.json").read_text())
    assert {s["status"] for s in report["students"]} == {"infrastructure"}
    assert all(s["attempts"] == 3 and "longer than 1 s" in s["reason"] for s in report["students"])
    assert scores(course, folder) == before == {"alice": ALICE, "bob": 0, "carol": 40}
    assert {s: record_path(course, s, folder).read_bytes() for s in before} == records
    assert (course / "feedback" / "alice" / folder / "tabular_q_learning.html").read_bytes() == feedback
    out = capsys.readouterr().out
    assert "NOT GRADED alice: grading failed 3 times, previous grade kept: grading took longer than 1 s" in out


def test_one_resubmission_regrades_one_student(graded):
    course, folder, _, _ = graded
    path = course / "submitted" / "bob" / folder / NOTEBOOK
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("resubmitted"))
    nbformat.write(nb, str(path))
    results = {r.student: r for r in batch_grade(course, folder, workers=2, progress=False)}
    assert {s: r.status for s, r in results.items()} == {"alice": "unchanged", "bob": "graded",
                                                          "carol": "unchanged"}
    assert scores(course, folder) == {"alice": ALICE, "bob": 0, "carol": 40}


def test_a_stale_record_is_reported_and_regraded_never_mixed_in(graded):
    course, folder, _, _ = graded
    path = record_path(course, "bob", folder)
    data = json.loads(path.read_text())
    data["schema"] = 0
    path.write_text(json.dumps(data))
    results = {r.student: r for r in batch_grade(course, folder, workers=2, progress=False)}
    assert results["bob"].status == "graded" and "schema 0" in results["bob"].stale
    assert "STALE bob: grading record of schema 0" in summary(list(results.values()), 40)
    assert load_record(path).schema == 1


def test_a_changed_check_is_rejudged_alone_and_the_moved_scores_are_listed(graded, capsys):
    """The instructor makes one graded cell stricter: every submission's notebook runs again, only that cell is
    judged again (the others keep their stored verdicts), and the scores that moved are listed."""
    from autograder.__main__ import main

    course, folder, _, _ = graded
    source = course / "source" / folder / NOTEBOOK
    nb = nbformat.read(str(source), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "greedy_policy")
    cell.source += "\nraise AssertionError('made stricter')\n"
    points = cell.metadata["nbgrader"]["points"]
    nbformat.write(nb, str(source))
    before = {s: load_record(record_path(course, s, folder)) for s in ("alice", "bob", "carol")}
    assert main(["batch", folder, "--course", str(course)]) == 0
    out = capsys.readouterr().out
    assert f"alice  greedy_policy  {points:g} -> 0" in out and f"carol  greedy_policy  {points:g} -> 0" in out
    assert "bob  greedy_policy" not in out  # 0 before, 0 now
    for student, old in before.items():
        new = load_record(record_path(course, student, folder))
        assert new.graded_at != old.graded_at
        for was, now in zip(old.cells, new.cells, strict=True):
            if now.grade_id == "greedy_policy":
                assert now.fingerprint != was.fingerprint and not now.passed
            else:  # reused, not judged again: the verdict and its time are the stored ones
                assert (now.fingerprint, now.points, now.message, now.seconds) == (
                    was.fingerprint, was.points, was.message, was.seconds)
    assert scores(course, folder) == {"alice": ALICE - points, "bob": 0, "carol": 40 - points}


@pytest.fixture
def fresh_class(graded, tmp_path):
    """alice and bob's submissions of the first run, in a course with no gradebook, records or feedback yet."""
    course, folder, results, _ = graded
    fresh = tmp_path / "course"
    fresh.mkdir()
    fresh.chmod(0o755)
    shutil.copy(course / "nbgrader_config.py", fresh)
    shutil.copytree(Path(__file__).resolve().parents[1] / "source" / folder, fresh / "source" / folder)
    for student in ("alice", "bob"):
        shutil.copytree(course / "submitted" / student / folder, fresh / "submitted" / student / folder)
    return fresh, folder, {s: results[s] for s in ("alice", "bob")}


def test_a_batch_killed_mid_way_then_rerun_grades_only_the_rest_and_ends_as_a_clean_run(fresh_class):
    """SIGKILL a batch once its first student is merged (its job in progress dies with it), then rerun."""
    course, folder, clean = fresh_class
    batch = subprocess.Popen([sys.executable, "-m", "autograder", "batch", folder, "--course", str(course),
                              "--workers", "1"], env=nbgrader_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 900
    while not any(record_path(course, s, folder).exists() for s in clean) and time.monotonic() < deadline:
        assert batch.poll() is None, "the batch ended before it could be killed"
        time.sleep(0.5)
    os.killpg(batch.pid, signal.SIGKILL)
    batch.wait()
    done = {s for s in clean if record_path(course, s, folder).exists()}
    assert len(done) == 1
    results = {r.student: r for r in batch_grade(course, folder, workers=1, progress=False)}
    assert {s: r.status for s, r in results.items()} == {
        s: "unchanged" if s in done else "graded" for s in clean}
    assert_same_as_clean_run(course, folder, clean)


def assert_same_as_clean_run(course: Path, folder: str, clean: dict) -> None:
    assert scores(course, folder) == {s: r.points for s, r in clean.items()}
    for student, result in clean.items():
        record = load_record(record_path(course, student, folder))
        assert [(c.grade_id, c.points, c.message) for c in record.cells] == [
            (c.grade_id, c.points, c.message) for c in result.record.cells]
        page = (course / "feedback" / student / folder / "tabular_q_learning.html").read_text()
        for cell in result.record.cells:
            assert cell.grade_id in page


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dask_cluster():
    """A real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, started (and ended) here."""
    port = free_port()
    dask = str(Path(sys.executable).parent / "dask")
    env = nbgrader_env()
    started = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                 "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    address = f"tcp://127.0.0.1:{port}"
    for _ in range(2):
        started.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--host",
                                         "127.0.0.1", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    try:
        from dask.distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address, started[1:]
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait()


def children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(proc.name))
    return found


def test_a_dask_worker_killed_while_grading_loses_no_grade(fresh_class, dask_cluster):
    import threading

    course, folder, clean = fresh_class
    address, workers = dask_cluster
    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.update(results=batch_grade(
        course, folder, engine="dask", address=address, progress=False)))
    thread.start()
    deadline = time.monotonic() + 600
    while not any(children(w.pid) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    victim = next(w for w in workers if children(w.pid))
    time.sleep(2)  # well into its grading
    victim.kill()
    thread.join(timeout=1800)
    results = {r.student: r for r in outcome["results"]}
    assert {s: r.status for s, r in results.items()} == dict.fromkeys(clean, "graded")
    assert_same_as_clean_run(course, folder, clean)
