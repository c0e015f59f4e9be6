"""The grading record (schema 1) and the fingerprints that say when it still holds; cheap, no sandbox runs."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from autograder.grading.fingerprint import cell_fingerprints, grader_fingerprint, submission_fingerprint
from autograder.grading.grade import GradingOptions, intake
from autograder.grading.notebook import assignment_module, read_notebook
from autograder.grading.record import CellRecord, GradingRecord, StaleRecord, load_record
from tests.helpers import source_notebook

NOTEBOOK = "tabular_q_learning.ipynb"


def test_a_record_round_trips_through_grading_json(tmp_path):
    record = GradingRecord("tabular_q_learning", "01_tabular_q_learning", "alice", "graded", notes=["a note"],
                           submitted_at="2026-12-01 10:00:00 UTC", points=3.0, max_points=5.0,
                           cells=[CellRecord(NOTEBOOK, "greedy_policy", 3.0, 3.0, True),
                                  CellRecord(NOTEBOOK, "update_fixed_point", 0.0, 2.0, False, property="p",
                                             input="i", expected="e", got="g", hint="h", error="CheckFailure")])
    path = record.write(tmp_path)
    data = json.loads(path.read_text())
    assert path.name == "grading.json" and list(data)[0] == "schema" and data["schema"] == 1
    assert load_record(tmp_path) == record
    assert record.scores() == {"tabular_q_learning": {"greedy_policy": 3.0, "update_fixed_point": 0.0}}


@pytest.mark.parametrize("data", [{"schema": 0, "status": "graded"}, {"status": "graded"}, [1, 2],
                                  {"schema": 1, "status": "graded"}, {"schema": 1, "assignment": "a", "folder": "f",
                                                                      "student": "s", "status": "lost"}])
def test_a_record_of_another_grader_or_a_broken_one_is_stale(tmp_path, data):
    (tmp_path / "grading.json").write_text(json.dumps(data))
    with pytest.raises(StaleRecord):
        load_record(tmp_path)


def test_editing_one_graded_cell_changes_that_cells_fingerprint_alone():
    trusted = read_notebook(source_notebook("tabular_q_learning"))
    module, options = assignment_module("tabular_q_learning"), GradingOptions().as_dict()
    before = cell_fingerprints({NOTEBOOK: trusted}, module, options)
    edited = copy.deepcopy(trusted)
    cell = next(c for c in edited.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "greedy_policy")
    cell.source += "\n# clarified\n"
    after = cell_fingerprints({NOTEBOOK: edited}, module, options)
    assert {key for key in before if before[key] != after[key]} == {(NOTEBOOK, "greedy_policy")}
    assert grader_fingerprint(before) != grader_fingerprint(after)
    assert cell_fingerprints({NOTEBOOK: trusted}, module, options) == before  # the same grader, the same prints
    budgets = cell_fingerprints({NOTEBOOK: trusted}, module, GradingOptions(cell_budget=10).as_dict())
    assert all(budgets[key] != before[key] for key in before)  # a budget decides every verdict


def test_the_submission_fingerprint_is_of_names_and_bytes(tmp_path):
    (tmp_path / NOTEBOOK).write_text("{}")
    first = submission_fingerprint(tmp_path)
    (tmp_path / NOTEBOOK).touch()
    assert submission_fingerprint(tmp_path) == first
    (tmp_path / "timestamp.txt").write_text("2026-12-01 10:00:00 UTC")
    assert submission_fingerprint(tmp_path) != first


def test_intake_refuses_a_linked_notebook_and_reads_the_submission_time(tmp_path):
    trusted = {NOTEBOOK: read_notebook(source_notebook("tabular_q_learning"))}
    (tmp_path / NOTEBOOK).symlink_to(source_notebook("tabular_q_learning"))
    (tmp_path / "timestamp.txt").write_text("2026-12-02 09:30:00.000000 UTC")
    checked = intake(tmp_path, trusted)
    assert "symbolic link" in checked.refusal and checked.submitted_at == "2026-12-02 09:30:00 UTC"


def test_grade_runs_the_refusal_check_too(tmp_path, capsys):
    from autograder.__main__ import main

    (tmp_path / NOTEBOOK).symlink_to(source_notebook("tabular_q_learning"))
    assert main(["grade", str(tmp_path / NOTEBOOK), "--assignment", "tabular_q_learning"]) == 1
    out = capsys.readouterr().out
    assert "NOT GRADED: the submitted tabular_q_learning.ipynb is a symbolic link" in out and "TOTAL 0 / 40" in out


def test_a_deleted_graded_cell_is_noted_by_the_intake(tmp_path):
    trusted = read_notebook(source_notebook("tabular_q_learning"))
    submitted = copy.deepcopy(trusted)
    submitted.cells = [c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "greedy_policy"]
    import nbformat

    nbformat.write(submitted, str(tmp_path / NOTEBOOK))
    checked = intake(tmp_path, {NOTEBOOK: trusted})
    assert checked.refusal == "" and any("`greedy_policy` was missing" in note for note in checked.notes)
    shutil.rmtree(tmp_path)
