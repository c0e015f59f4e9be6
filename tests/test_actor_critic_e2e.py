"""Assignment 6 end to end through the real nbgrader CLI in a temporary course directory: the committed
release is what generate_assignment makes; the instructor solution gets full marks (this is where the
200,000-step CartPole learning check runs in the default test run); the untouched release gets 0; a partly
solved submission gets exactly the points of its correct answers; feedback names the failing property."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.e2e import answer_cells, autograde_and_feedback, feedback_html, make_course, same_notebook, scores, submit
from tests.helpers import ROOT

NOTEBOOK = "actor_critic.ipynb"
N_CELLS, TOTAL = 14, 50
# Answers that alone earn these cells (the other answers stay unsolved).
PARTIAL_ANSWERS = ("answer_q_actor_critic_loss", "answer_mc_advantages", "answer_actor_loss", "answer_td_advantages")
PARTIAL_POINTS = {"actor_loss_value": 3.0, "baseline_unbiased": 4.0, "slides_baseline_example": 2.0,
                  "mdp_advantages": 4.0}


def partial_submission(release: Path, solution: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(str(release), as_version=4)
    solved = answer_cells(solution)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in PARTIAL_ANSWERS:
            cell.source = solved[grade_id]
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, str]:
    course, folder, solution, release = make_course(tmp_path_factory.mktemp("course"), "actor_critic")
    submit(course, folder, "solution", solution, NOTEBOOK)
    submit(course, folder, "untouched", release, NOTEBOOK)
    submit(course, folder, "partial", partial_submission(release, solution), NOTEBOOK)
    autograde_and_feedback(course, folder)
    return course, folder


def test_committed_release_equals_generated_release(course):
    course, folder = course
    assert same_notebook(ROOT / "release" / folder / NOTEBOOK, course / "release" / folder / NOTEBOOK)


def test_release_hides_solutions_and_hidden_tests(course):
    course, folder = course
    text = (course / "release" / folder / NOTEBOOK).read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text


def test_instructor_solution_gets_full_marks(course):
    result = scores(*course, NOTEBOOK, "solution")
    assert len(result) == N_CELLS and sum(result.values()) == TOTAL, result


def test_untouched_release_gets_zero(course):
    result = scores(*course, NOTEBOOK, "untouched")
    assert len(result) == N_CELLS and sum(result.values()) == 0


def test_partial_submission_gets_exactly_the_points_of_its_correct_answers(course):
    result = scores(*course, NOTEBOOK, "partial")
    assert len(result) == N_CELLS
    assert {k: v for k, v in result.items() if v} == PARTIAL_POINTS


def test_feedback_names_the_failing_property(course):
    html = feedback_html(*course, "untouched", NOTEBOOK)
    assert "Property failed:" in html
    assert "GAE with lambda=0 equals the TD errors" in html
    assert "NotImplementedError" in html


def test_no_hypothesis_folders_are_left_in_student_folders(course):
    assert not list(course[0].rglob(".hypothesis"))
