"""End to end through the real nbgrader CLI in a temporary course directory: the committed release is what
generate_assignment makes; the instructor solution gets full marks; the untouched release gets 0 without
crashing; a cheating, crashing submission gets exactly what its answers deserve; feedback names the
failing property."""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
import pytest

from tests.e2e import answer_cells, autograde_and_feedback, feedback_html, make_course, same_notebook, scores, submit
from tests.helpers import ROOT

NOTEBOOK = "tabular_q_learning.ipynb"


# Top-level code runs in the student's process: it must neither read the instructor's notebooks or the
# gradebook nor change any file of the course (here a canary beside the gradebook), wherever it looks.
SNOOP = '''
import glob, os
course = {course!r}
for path in glob.glob(course + "/source/**/*.ipynb", recursive=True) + [course + "/gradebook.db"]:
    try:
        print(open(path, "rb").read()[:3000].decode("latin-1"))
    except OSError as error:
        print("refused", type(error).__name__)
for path in (course + "/canary.txt", course + "/gradebook.db"):
    try:
        os.remove(path)
        print("removed", path)
    except OSError as error:
        print("refused", type(error).__name__)
'''


def snoop(course: Path) -> str:
    return SNOOP.replace("{course!r}", repr(str(course)))


def adversarial_submission(release: Path, solution: Path, course: Path) -> nbformat.NotebookNode:
    """Correct answers for shape_reward and greedy_policy only (4 points), plus every trick in the book."""
    nb = nbformat.read(str(release), as_version=4)
    solved = answer_cells(solution)
    cheat = '''
import sys
import numpy as np
import autograder.toolkit.checks
import autograder.assignments.tabular_q_learning as checks
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *a, **k: print("PASSED"))
autograder.toolkit.checks.deferred_to_trusted_grader = lambda: True
sys.stderr.write("DeprecationWarning: noise\\n")
'''
    kept = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in ("answer_shape_reward", "answer_greedy_policy"):
            cell.source = solved[grade_id]
        if grade_id == "answer_shape_reward":
            cell.source = cheat + cell.source
        if grade_id == "update_fixed_point":
            cell.source = 'print("PASSED update_fixed_point")'
        if grade_id == "epsilon_greedy_ties":
            continue  # deleted test cell
        kept.append(cell)
    kept.append(nbformat.v4.new_code_cell(snoop(course)))
    kept.append(nbformat.v4.new_code_cell("print(40)\n40"))
    kept.append(nbformat.v4.new_code_cell("import sys\nsys.exit(0)"))
    kept.append(nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    kept.append(nbformat.v4.new_code_cell("print('never reached')"))
    nb.cells = kept
    return nb


def mutant_submission(solution: Path) -> nbformat.NotebookNode:
    """The instructor solution with one realistic mistake: a Q-learning update that bootstraps past a
    terminal state (it still learns FrozenLake, whose terminal values stay 0, so its feedback has a curve)."""
    from tests.corpus.tabular_q_learning import MUTANTS

    mutant = next(m for m in MUTANTS if m.name == "update_bootstraps_from_terminal")
    notebook = nbformat.read(str(solution), as_version=4)
    (cell,) = [c for c in notebook.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") == "answer_q_learning_update"]
    cell.source = mutant.source
    return notebook


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, str]:
    course, folder, solution, release = make_course(tmp_path_factory.mktemp("course"), "tabular_q_learning")
    submit(course, folder, "solution", solution, NOTEBOOK)
    submit(course, folder, "untouched", release, NOTEBOOK)
    submit(course, folder, "adversary", adversarial_submission(release, solution, course), NOTEBOOK)
    submit(course, folder, "mutant", mutant_submission(solution), NOTEBOOK)
    (course / "canary.txt").write_text("still here")
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
    assert len(result) == 12 and sum(result.values()) == 40


def test_untouched_release_gets_zero(course):
    result = scores(*course, NOTEBOOK, "untouched")
    assert len(result) == 12 and sum(result.values()) == 0


def test_cheating_crashing_submission_gets_exactly_what_its_answers_deserve(course):
    result = scores(*course, NOTEBOOK, "adversary")
    assert len(result) == 12, "the deleted test cell must still be graded"
    assert {k: v for k, v in result.items() if v} == {"shape_reward": 2.0, "greedy_policy": 2.0}


def test_feedback_names_the_failing_property(course):
    html = feedback_html(*course, "untouched", NOTEBOOK)
    assert "Property failed:" in html
    assert "moves toward the TD target by exactly the factor (1 - alpha)" in html
    assert "NotImplementedError" in html


def test_no_hypothesis_folders_are_left_in_student_folders(course):
    assert not list(course[0].rglob(".hypothesis"))


def test_feedback_shows_the_learning_curve_of_the_learning_check(course):
    """The graded q_learning_learns cell carries the student's learning curve as a PNG, and the feedback
    page shows it; the untouched release trained nothing and has none."""
    course, folder = course

    def curves(student: str) -> list[str]:
        graded = nbformat.read(str(course / "autograded" / student / folder / NOTEBOOK), as_version=4)
        (cell,) = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q_learning_learns"]
        return [o.data["image/png"] for o in cell.outputs if o.output_type == "display_data" and "image/png" in o.data]

    (curve,) = curves("solution")
    assert base64.b64decode(curve).startswith(b"\x89PNG")
    assert curve in feedback_html(course, folder, "solution", NOTEBOOK)
    assert curves("untouched") == []


def test_feedback_never_shows_hidden_tests(course):
    html = feedback_html(*course, "solution", NOTEBOOK)
    assert "PASSED update_moves_toward_target" in html
    for hidden in ("BEGIN HIDDEN TESTS", "_expected = 1.0 + 0.5", "with gamma=0, V(s) = max_a E[r]"):
        assert hidden not in html


def test_the_students_kernel_cannot_read_or_change_the_course(course):
    from autograder.sandbox import network_jail

    if not network_jail():
        pytest.skip("this machine cannot jail the kernel")
    course, folder = course
    graded = nbformat.read(str(course / "autograded" / "adversary" / folder / NOTEBOOK), as_version=4)
    (cell,) = [cell for cell in graded.cells if cell.source == snoop(course)]
    printed = "".join(output.get("text", "") for output in cell.outputs)
    assert printed.count("refused") == 3, printed
    assert "BEGIN SOLUTION" not in printed and "SQLite format" not in printed and "removed" not in printed
    assert (course / "canary.txt").read_text() == "still here"


@pytest.mark.browser
def test_a_feedback_page_in_a_browser_shows_the_failing_property_and_the_learning_curve(course):
    from tests.browser import browser_page

    course, folder = course
    result = scores(course, folder, NOTEBOOK, "mutant")
    assert result["update_terminal_vs_truncated"] == 0 and result["q_learning_learns"] > 0
    page_file = course / "feedback" / "mutant" / folder / NOTEBOOK.replace(".ipynb", ".html")
    with browser_page() as page:
        page.goto(page_file.as_uri())
        text = page.inner_text("body")
        curves = page.eval_on_selector_all(
            "img[src^='data:image/png']", "images => images.map(i => [i.complete, i.naturalWidth])")
    assert ("Property failed: terminated=True ignores Q[next_state]; terminated=False bootstraps from max "
            "Q[next_state]") in text, text[:3000]
    assert "PASSED q_learning_learns" in text
    assert curves and all(done and width > 100 for done, width in curves), curves
