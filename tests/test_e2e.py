"""Every assignment of the registry end to end through the real nbgrader CLI, in a scratch course per
assignment: the committed release is what generate_assignment makes and hides solutions and hidden tests; the
instructor solution gets full marks (this is where each instructor solution's learning checks run in the
default test run); the untouched release gets 0 without crashing; each submission of the corpus (``E2E`` of
tests/corpus/<id>.py: partly solved, cheating, crashing, mistaken) gets exactly the points of its correct
answers; feedback names the failing property and never shows hidden tests. All students of an assignment are
graded by one ``nbgrader autograde``; two assignments are graded at a time, in the background, from the first
test that needs one. Assignment 1 also: learning curves in the feedback, a kernel jailed from the course, and
a feedback page in a browser."""

from __future__ import annotations

import base64
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.assignments import registry
from autograder.grading.record import load_record, record_path
from tests.e2e import autograde_and_feedback, feedback_html, make_course, same_notebook, scores, submit
from tests.helpers import ROOT, corpus, notebook_of, require_jail

IDS = tuple(registry())
SUBMISSIONS = [(a, student) for a in IDS for student in corpus(a).E2E.submissions]
PARALLEL = 2  # scratch courses graded at once (each nbgrader runs one single-threaded sandbox)


@dataclass(frozen=True)
class Course:
    root: Path
    folder: str
    notebook: str

    def scores(self, student: str) -> dict[str, float]:
        return scores(self.root, self.folder, self.notebook, student)

    def feedback(self, student: str) -> str:
        return feedback_html(self.root, self.folder, student, self.notebook)

    def autograded(self, student: str) -> nbformat.NotebookNode:
        return nbformat.read(str(self.root / "autograded" / student / self.folder / self.notebook), as_version=4)


def grade_course(assignment: str, tmp: Path) -> Course:
    """A scratch course with the instructor solution, the untouched release and the corpus's submissions,
    autograded in one run, with feedback."""
    root, folder, solution, release = make_course(tmp, assignment)
    course = Course(root, folder, solution.name)
    submit(root, folder, "solution", solution, course.notebook)
    submit(root, folder, "untouched", release, course.notebook)
    for student, spec in corpus(assignment).E2E.submissions.items():
        submit(root, folder, student, notebook_of(assignment, spec, course=root), course.notebook)
    (root / "canary.txt").write_text("still here")
    autograde_and_feedback(root, folder)
    return course


@pytest.fixture(scope="session")
def courses(request, tmp_path_factory) -> dict[str, Future]:
    """assignment -> its graded course (a future), for the assignments the collected tests ask for."""
    wanted = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module.__name__ == __name__ and callspec and callspec.params.get("assignment") not in wanted:
            wanted.append(callspec.params["assignment"])
    with ThreadPoolExecutor(PARALLEL, thread_name_prefix="e2e") as pool:
        yield {a: pool.submit(grade_course, a, tmp_path_factory.mktemp(f"course_{a}")) for a in wanted if a in IDS}


@pytest.fixture
def course(courses, assignment) -> Course:
    return courses[assignment].result()


def points(assignment: str) -> dict[str, float]:
    return registry()[assignment].points(ROOT)


@pytest.mark.parametrize("assignment", IDS)
def test_committed_release_equals_generated_release(course, assignment):
    assert same_notebook(ROOT / "release" / course.folder / course.notebook,
                         course.root / "release" / course.folder / course.notebook)


@pytest.mark.parametrize("assignment", IDS)
def test_release_hides_solutions_and_hidden_tests(course, assignment):
    path = course.root / "release" / course.folder / course.notebook
    text = path.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    answers = [c.source for c in nbformat.read(str(path), 4).cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert answers and all("raise NotImplementedError()" in source for source in answers)
    for snippet in corpus(assignment).E2E.not_in_release:
        assert snippet not in text


@pytest.mark.parametrize("assignment", IDS)
def test_instructor_solution_gets_full_marks(course, assignment):
    """Every graded cell, learning checks too, through nbgrader and the sandbox; and every cell of the notebook
    ran without an error (the grading record lists none)."""
    assert course.scores("solution") == points(assignment)
    record = load_record(record_path(course.root, "solution", course.folder))
    assert record.cell_errors == [] and record.points == record.max_points == sum(points(assignment).values())


@pytest.mark.parametrize("assignment", IDS)
def test_untouched_release_gets_zero(course, assignment):
    result = course.scores("untouched")
    assert set(result) == set(points(assignment)) and sum(result.values()) == 0, result


@pytest.mark.parametrize("assignment, student", SUBMISSIONS)
def test_submission_gets_exactly_the_points_of_its_correct_answers(course, assignment, student):
    spec = corpus(assignment).E2E.submissions[student]
    result, full = course.scores(student), points(assignment)
    assert set(result) == set(full), "every graded cell is graded, deleted ones too"
    if spec.earned is not None:
        assert {k: v for k, v in result.items() if v} == spec.earned
    else:
        assert {k for k, v in result.items() if v == 0} == set(spec.lost), result
        assert {k: full[k] for k in spec.lost} == spec.lost
        assert sum(result.values()) == sum(full.values()) - sum(spec.lost.values())


@pytest.mark.parametrize("assignment", IDS)
def test_feedback_names_the_failing_property(course, assignment):
    e2e = corpus(assignment).E2E
    html = course.feedback(e2e.feedback_of)
    assert "Property failed:" in html and e2e.failing_property in html
    assert "NotImplementedError" in course.feedback("untouched")


@pytest.mark.parametrize("assignment", IDS)
def test_feedback_shows_every_passed_check_and_never_a_hidden_test(course, assignment):
    html = course.feedback("solution")
    for grade_id in points(assignment):
        assert f"PASSED {grade_id}" in html
    for hidden in ("BEGIN HIDDEN TESTS", *corpus(assignment).E2E.hidden_snippets):
        assert hidden not in html


@pytest.mark.parametrize("assignment", IDS)
def test_no_hypothesis_folders_are_left_in_student_folders(course, assignment):
    assert not list(course.root.rglob(".hypothesis"))


# ---------------------------------------------------------------------------------------------------------
# Assignment 1 only
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment", ["tabular_q_learning"])
def test_feedback_shows_the_learning_curve_of_the_learning_check(course, assignment):
    """The graded q_learning_learns cell carries the student's learning curve as a PNG, and the feedback
    page shows it; the untouched release trained nothing and has none."""

    def curves(student: str) -> list[str]:
        (cell,) = [c for c in course.autograded(student).cells
                   if c.metadata.get("nbgrader", {}).get("grade_id") == "q_learning_learns"]
        return [o.data["image/png"] for o in cell.outputs if o.output_type == "display_data" and "image/png" in o.data]

    (curve,) = curves("solution")
    assert base64.b64decode(curve).startswith(b"\x89PNG")
    assert curve in course.feedback("solution")
    assert curves("untouched") == []


@pytest.mark.parametrize("assignment", ["tabular_q_learning"])
def test_the_students_kernel_cannot_read_or_change_the_course(course, assignment):
    require_jail("the kernel could read the course")
    snoop = corpus(assignment).SNOOP.replace("{course}", str(course.root))
    (cell,) = [cell for cell in course.autograded("adversary").cells if cell.source == snoop]
    printed = "".join(output.get("text", "") for output in cell.outputs)
    assert printed.count("refused") == 3, printed
    assert "BEGIN SOLUTION" not in printed and "SQLite format" not in printed and "removed" not in printed
    assert (course.root / "canary.txt").read_text() == "still here"


@pytest.mark.browser
@pytest.mark.parametrize("assignment", ["tabular_q_learning"])
def test_a_feedback_page_in_a_browser_shows_the_failing_property_and_the_learning_curve(course, assignment):
    from tests.browser import browser_page

    result = course.scores("mutant")
    assert result["update_terminal_vs_truncated"] == 0 and result["q_learning_learns"] > 0
    page_file = course.root / "feedback" / "mutant" / course.folder / re.sub(r"\.ipynb$", ".html", course.notebook)
    with browser_page() as page:
        page.goto(page_file.as_uri())
        text = page.inner_text("body")
        curves = page.eval_on_selector_all(
            "img[src^='data:image/png']", "images => images.map(i => [i.complete, i.naturalWidth])")
    assert ("Property failed: terminated=True ignores Q[next_state]; terminated=False bootstraps from max "
            "Q[next_state]") in text, text[:3000]
    assert "PASSED q_learning_learns" in text
    assert curves and all(done and width > 100 for done, width in curves), curves
