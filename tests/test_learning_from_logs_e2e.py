"""Assignment 7 end to end through the real nbgrader CLI in a temporary course directory: the committed release
is what generate_assignment makes; the instructor solution gets full marks (learning checks included); the
untouched release gets 0 without crashing; a partly solved submission gets exactly the points of what it
solved; feedback names the failing property."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.e2e import answer_cells, autograde_and_feedback, feedback_html, make_course, same_notebook, scores, submit
from tests.helpers import ROOT

NOTEBOOK = "learning_from_logs.ipynb"
N_CELLS, TOTAL = 13, 46
PARTLY_SOLVED = ("answer_importance_weights", "answer_ips_estimate", "answer_linucb_select")


def partly_solved_submission(release: Path, solution: Path) -> nbformat.NotebookNode:
    """The release with three answers filled in from the solution and the rest left as it is."""
    nb = nbformat.read(str(release), as_version=4)
    solved = answer_cells(solution)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in PARTLY_SOLVED:
            cell.source = solved[grade_id]
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, str]:
    course, folder, solution, release = make_course(tmp_path_factory.mktemp("course"), "learning_from_logs")
    submit(course, folder, "solution", solution, NOTEBOOK)
    submit(course, folder, "untouched", release, NOTEBOOK)
    submit(course, folder, "partial", partly_solved_submission(release, solution), NOTEBOOK)
    autograde_and_feedback(course, folder)
    return course, folder


def test_committed_release_equals_generated_release(course):
    course, folder = course
    assert same_notebook(ROOT / "release" / folder / NOTEBOOK, course / "release" / folder / NOTEBOOK)


def test_source_has_no_outputs_and_release_hides_solutions_and_hidden_tests(course):
    course, folder = course
    source = nbformat.read(str(ROOT / "source" / folder / NOTEBOOK), as_version=4)
    assert all(not cell.get("outputs") for cell in source.cells if cell.cell_type == "code")
    text = (course / "release" / folder / NOTEBOOK).read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text
    assert "np.sqrt(x @ A_inv @ x)" not in text


def test_instructor_solution_gets_full_marks(course):
    result = scores(*course, NOTEBOOK, "solution")
    assert len(result) == N_CELLS and sum(result.values()) == TOTAL, result


def test_untouched_release_gets_zero(course):
    result = scores(*course, NOTEBOOK, "untouched")
    assert len(result) == N_CELLS and sum(result.values()) == 0


def test_partly_solved_submission_gets_exactly_the_points_of_its_answers(course):
    result = scores(*course, NOTEBOOK, "partial")
    assert {k: v for k, v in result.items() if v} == {"importance_weights": 2.0, "ips_unbiased": 4.0,
                                                      "linucb_select": 4.0}


def test_feedback_names_the_failing_property(course):
    html = feedback_html(*course, "untouched", NOTEBOOK)
    assert "Property failed:" in html
    assert "IPS is unbiased: its expectation over the logging policy" in html
    assert "NotImplementedError" in html


def test_no_hypothesis_folders_are_left_in_student_folders(course):
    assert not list(course[0].rglob(".hypothesis"))
