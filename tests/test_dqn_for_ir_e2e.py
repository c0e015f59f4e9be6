"""Assignment 3 end to end through the real nbgrader CLI in a temporary course directory: the committed
release is what generate_assignment makes; the instructor solution gets full marks (its learning check runs
here once); the untouched release gets 0; a cheating submission gets exactly what its answers deserve;
feedback names the failing property."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.e2e import answer_cells, autograde_and_feedback, feedback_html, make_course, same_notebook, scores, submit
from tests.helpers import ROOT

NOTEBOOK = "dqn_for_ir.ipynb"
N_CELLS, TOTAL_POINTS = 8, 37
HELPER_POINTS = {"masked_argmax_never_masked": 5.0, "masked_argmax_ties": 3.0,
                 "masked_epsilon_greedy_frequencies": 4.0, "masked_max_ignores_masked": 5.0,
                 "all_masked_raises": 3.0}


def helpers_only_with_cheats(release: Path, solution: Path) -> nbformat.NotebookNode:
    """The three masked helpers solved, no trainer, and attempts to fake the training checks."""
    nb = nbformat.read(str(release), as_version=4)
    solved = answer_cells(solution)
    cheat = '''
import autograder.assignments.dqn_for_ir as checks
checks.LEARNING_FRACTION = 0.0
checks.check_recommender_learns = lambda *a, **k: print("PASSED recommender_learns")
'''
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in ("answer_masked_argmax", "answer_masked_epsilon_greedy", "answer_masked_max"):
            cell.source = solved[grade_id]
        if grade_id == "answer_masked_max":
            cell.source = cheat + cell.source
        if grade_id == "myopic_recommender_collapses":
            cell.source = 'print("PASSED myopic_recommender_collapses")'
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, str]:
    course, folder, solution, release = make_course(tmp_path_factory.mktemp("course"), "dqn_for_ir")
    submit(course, folder, "solution", solution, NOTEBOOK)
    submit(course, folder, "untouched", release, NOTEBOOK)
    submit(course, folder, "helpers", helpers_only_with_cheats(release, solution), NOTEBOOK)
    autograde_and_feedback(course, folder)
    return course, folder


def test_committed_release_equals_generated_release(course):
    course, folder = course
    assert same_notebook(ROOT / "release" / folder / NOTEBOOK, course / "release" / folder / NOTEBOOK)


def test_release_hides_solutions_and_hidden_tests(course):
    course, folder = course
    path = course / "release" / folder / NOTEBOOK
    text = path.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    answers = [c.source for c in nbformat.read(str(path), 4).cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(answers) == 4 and all("raise NotImplementedError()" in source for source in answers)


def test_instructor_solution_gets_full_marks(course):
    result = scores(*course, NOTEBOOK, "solution")
    assert len(result) == N_CELLS and sum(result.values()) == TOTAL_POINTS


def test_untouched_release_gets_zero(course):
    result = scores(*course, NOTEBOOK, "untouched")
    assert len(result) == N_CELLS and sum(result.values()) == 0


def test_cheating_submission_gets_exactly_what_its_answers_deserve(course):
    result = scores(*course, NOTEBOOK, "helpers")
    assert len(result) == N_CELLS
    assert {k: v for k, v in result.items() if v} == HELPER_POINTS


def test_feedback_names_the_failing_property(course):
    html = feedback_html(*course, "untouched", NOTEBOOK)
    assert "Property failed:" in html
    assert "even when an unavailable action has a larger value" in html
    assert "NotImplementedError" in html


def test_no_hypothesis_folders_are_left_in_student_folders(course):
    assert not list(course[0].rglob(".hypothesis"))
