"""The REINFORCE assignment end to end through the real nbgrader CLI in a temporary course directory: the
committed release is what generate_assignment makes; the instructor solution gets full marks (this runs both
learning checks once in the default test run); the untouched release gets 0; a submission that cheats gets
exactly what its answers deserve; feedback names the failing property."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.e2e import answer_cells, autograde_and_feedback, feedback_html, make_course, same_notebook, scores, submit
from tests.helpers import ROOT

NOTEBOOK = "reinforce.ipynb"
N_GRADED = 11
TOTAL_POINTS = 44


def adversarial_submission(release: Path, solution: Path) -> nbformat.NotebookNode:
    """A correct discounted_returns only (4 + 3 points), plus attempts to fake the rest."""
    nb = nbformat.read(str(release), as_version=4)
    solved = answer_cells(solution)
    cheat = '''
import autograder.toolkit.checks
import autograder.assignments.reinforce as checks
import torch
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: print("PASSED"))
autograder.toolkit.checks.deferred_to_trusted_grader = lambda: True
torch.allclose = lambda *a, **k: True
'''
    kept = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "answer_discounted_returns":
            cell.source = cheat + solved[grade_id]
        if grade_id == "reinforce_cartpole":
            cell.source = 'print("PASSED reinforce_cartpole")'
        if grade_id == "gradient_sign":
            continue  # deleted test cell
        kept.append(cell)
    kept.append(nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    nb.cells = kept
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, str]:
    course, folder, solution, release = make_course(tmp_path_factory.mktemp("course"), "reinforce")
    submit(course, folder, "solution", solution, NOTEBOOK)
    submit(course, folder, "untouched", release, NOTEBOOK)
    submit(course, folder, "adversary", adversarial_submission(release, solution), NOTEBOOK)
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
    assert "self.log_std = nn.Parameter" not in text


def test_instructor_solution_gets_full_marks(course):
    result = scores(*course, NOTEBOOK, "solution")
    assert len(result) == N_GRADED and sum(result.values()) == TOTAL_POINTS


def test_untouched_release_gets_zero(course):
    result = scores(*course, NOTEBOOK, "untouched")
    assert len(result) == N_GRADED and sum(result.values()) == 0


def test_cheating_submission_gets_exactly_what_its_answers_deserve(course):
    result = scores(*course, NOTEBOOK, "adversary")
    assert len(result) == N_GRADED, "the deleted test cell must still be graded"
    assert {k: v for k, v in result.items() if v} == {"returns_recursion": 4.0, "returns_gamma_edge_cases": 3.0}


def test_feedback_names_the_failing_property(course):
    html = feedback_html(*course, "untouched", NOTEBOOK)
    assert "Property failed:" in html
    assert "G[t] = r[t] + gamma * G[t+1]" in html
    assert "NotImplementedError" in html


def test_no_hypothesis_folders_are_left_in_student_folders(course):
    assert not list(course[0].rglob(".hypothesis"))
