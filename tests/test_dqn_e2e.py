"""Assignment 2 (DQN) end to end through the real nbgrader CLI in a temporary course directory: the committed
release is what generate_assignment makes; the instructor solution gets full marks (this runs the
50,000-step learning check once); the untouched release gets 0 without crashing; a submission with one
realistic mistake (and train_dqn left unwritten) loses exactly the points of the checks that target them; feedback
names the failing property."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.corpus.dqn import MUTANTS
from tests.e2e import answer_cells, autograde_and_feedback, feedback_html, make_course, same_notebook, scores, submit
from tests.helpers import ROOT

NOTEBOOK = "dqn.ipynb"
N_CELLS, TOTAL = 17, 50
BUG = {m.name: m for m in MUTANTS}["dueling_subtracts_max"]
UNFINISHED = ("train_dqn_interface", "dqn_learns_cartpole")


def buggy_submission(solution: Path, release: Path) -> nbformat.NotebookNode:
    """The instructor solution with one realistic mistake (the dueling head subtracts the max advantage) and
    train_dqn left as released (so no training run is spent on it)."""
    nb = nbformat.read(str(solution), as_version=4)
    released = answer_cells(release)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == f"answer_{BUG.function}":
            cell.source = BUG.source
        if grade_id == "answer_train_dqn":
            cell.source = released[grade_id]
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, str]:
    course, folder, solution, release = make_course(tmp_path_factory.mktemp("course"), "dqn")
    submit(course, folder, "solution", solution, NOTEBOOK)
    submit(course, folder, "untouched", release, NOTEBOOK)
    submit(course, folder, "buggy", buggy_submission(solution, release), NOTEBOOK)
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
    assert "smooth_l1_loss(q_taken" not in text and "self.tree[2 * node]" not in text


def test_instructor_solution_gets_full_marks(course):
    result = scores(*course, NOTEBOOK, "solution")
    assert len(result) == N_CELLS and sum(result.values()) == TOTAL, result


def test_untouched_release_gets_zero(course):
    result = scores(*course, NOTEBOOK, "untouched")
    assert len(result) == N_CELLS and sum(result.values()) == 0, result


def test_a_realistic_mistake_loses_exactly_the_targeted_points(course):
    result = scores(*course, NOTEBOOK, "buggy")
    assert {k for k, v in result.items() if v == 0} == set(BUG.must_fail) | set(UNFINISHED), result
    assert sum(result.values()) == TOTAL - 3 - 2 - 8


def test_feedback_names_the_failing_property(course):
    html = feedback_html(*course, "buggy", NOTEBOOK)
    assert "Property failed:" in html and "the mean over actions of Q(s, .) equals V(s)" in html
    untouched = feedback_html(*course, "untouched", NOTEBOOK)
    assert "NotImplementedError" in untouched


def test_no_hypothesis_folders_are_left_in_student_folders(course):
    assert not list(course[0].rglob(".hypothesis"))
