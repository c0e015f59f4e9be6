"""What every assignment's checks must satisfy, for each assignment of the registry: its contract names have
answer cells that graded cells use; its points are the source notebook's and course.md states the same; the
instructor solution passes every graded cell, in process and through the sandbox; each mutant of its corpus
loses the points of the checks it targets, with a message naming property, input, expected, got and hint; each
alternative solution keeps full marks; the same submission graded twice gets the same verdict.

The expensive cells (``EXPENSIVE`` of each corpus: learning runs) are left out of the default runs here: the
instructor solution's are run once, through nbgrader, by tests/test_e2e.py; the runs here that include them
are marked slow, and so are the solution's cheap cells in process and through the sandbox, which that nbgrader
run covers (with every cell's errors: none). Assignment-specific tests are in tests/test_<id>.py; the data are in
tests/corpus/<id>.py.
"""

from __future__ import annotations

import re

import pytest

from autograder.assignments import registry
from autograder.grading.notebook import grade_notebook, is_graded_test_cell, read_notebook
from tests.helpers import (
    ROOT,
    corpus,
    expensive,
    failures,
    graded_cells,
    notebook_of,
    run_cells,
    solution_namespace,
    solution_sources,
)

IDS = tuple(registry())
MESSAGE_PARTS = ("Property failed:", "Input:", "Expected:", "Got:", "Hint:")


def cheap(assignment: str) -> set[str]:
    return set(graded_cells(assignment)) - expensive(assignment)


@pytest.mark.parametrize("assignment", IDS)
def test_every_corpus_states_its_floor(assignment):
    least_mutants, least_alternatives = corpus(assignment).FLOOR
    assert least_mutants >= 8 and least_alternatives >= 1


@pytest.mark.parametrize("assignment", IDS)
def test_every_contract_name_has_an_answer_cell_and_a_graded_cell_that_uses_it(assignment):
    names = {filename for filename, _ in solution_sources(assignment)}
    cells = graded_cells(assignment)
    for name in registry()[assignment].contract:
        assert f"<cell answer_{name}>" in names
        assert any(name in source for source in cells.values()), f"no graded cell uses {name}"


def course_md_points() -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(assignment -> total of the summary table, assignment -> {check: points} of its section's table)."""
    text = (ROOT / "course.md").read_text(encoding="utf-8")
    totals = {m[1]: float(m[2]) for m in re.finditer(r"^\| \d+ \| `(\w+)` \|[^|]*\| (\d+) \|", text, re.M)}
    ids_by_number = {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \| `(\w+)` \|", text, re.M)}
    sections = re.split(r"^### Assignment (\d+):", text, flags=re.M)
    checks = {}
    for number, body in zip(sections[1::2], sections[2::2], strict=True):
        body = body.split("\n## ")[0]
        checks[ids_by_number[int(number)]] = {m[1]: float(m[2])
                                              for m in re.finditer(r"^\| `(\w+)` \| (\d+) \|", body, re.M)}
    return totals, checks


@pytest.mark.parametrize("assignment", IDS)
def test_points_are_the_notebooks_and_course_md_states_the_same(assignment):
    """One place for points: the source notebook's nbgrader metadata (as the registry reads it, and as nbgrader
    does); course.md's summary table and its table of checks agree."""
    nb = read_notebook(registry()[assignment].source_notebook(ROOT))
    graded = {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
              for c in nb.cells if is_graded_test_cell(c)}
    points = registry()[assignment].points(ROOT)
    assert points == graded and set(points) == set(graded_cells(assignment))
    assert all(p > 0 for p in points.values())
    totals, checks = course_md_points()
    assert totals[assignment] == sum(points.values())
    assert checks[assignment] == points


@pytest.mark.parametrize("assignment", IDS)
def test_source_notebook_has_no_outputs(assignment):
    nb = read_notebook(registry()[assignment].source_notebook(ROOT))
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.slow  # by default tests/test_e2e.py grades the whole solution (and the alternatives here, in process)
@pytest.mark.parametrize("assignment", IDS)
def test_instructor_solution_passes_every_cheap_graded_cell_in_process(assignment):
    results = run_cells(assignment, solution_namespace(assignment), only=cheap(assignment))
    assert failures(results) == {}
    assert all(output.strip().splitlines()[-1].startswith("PASSED") for _, output, _, _ in results.values())


def assert_full_marks_through_the_sandbox(assignment: str, without: set[str]) -> None:
    verdict = grade_notebook(notebook_of(assignment, deleted=tuple(without)), assignment)
    assert verdict.load_errors == []
    assert [(c.grade_id, c.error_message) for c in verdict.cells if not c.passed] == []
    points = registry()[assignment].points(ROOT)
    assert verdict.points == verdict.max_points == sum(p for g, p in points.items() if g not in without)


@pytest.mark.slow  # by default tests/test_e2e.py grades the whole solution through nbgrader and the sandbox
@pytest.mark.parametrize("assignment", IDS)
def test_instructor_solution_gets_full_marks_of_the_cheap_cells_through_the_sandbox(assignment):
    assert_full_marks_through_the_sandbox(assignment, expensive(assignment))


@pytest.mark.slow
@pytest.mark.parametrize("assignment", IDS)
def test_instructor_solution_gets_full_marks_through_the_sandbox(assignment):
    assert_full_marks_through_the_sandbox(assignment, set())


@pytest.mark.parametrize("assignment", IDS)
def test_the_corpus_is_large_enough_and_covers_the_contract_and_the_cheap_checks(assignment):
    mutants, alternatives = corpus(assignment).MUTANTS, corpus(assignment).ALTERNATIVES
    least_mutants, least_alternatives = corpus(assignment).FLOOR
    assert len([m for m in mutants if not is_slow(assignment, m)]) >= least_mutants
    assert len({m.name for m in mutants}) == len(mutants)
    assert len(alternatives) >= least_alternatives
    assert {m.function for m in mutants} == set(registry()[assignment].contract)  # every name has a mutant
    assert cheap(assignment) <= {cell for m in mutants for cell in m.must_fail}  # every cheap check catches one
    assert expensive(assignment) <= set(graded_cells(assignment))


def is_slow(assignment: str, mutant) -> bool:
    return mutant.slow or bool(set(mutant.must_fail) & expensive(assignment))


def mutant_params():
    return [pytest.param(a, m, id=f"{a}-{m.name}", marks=[pytest.mark.slow] if is_slow(a, m) else [])
            for a in IDS for m in corpus(a).MUTANTS]


@pytest.mark.parametrize("assignment, mutant", mutant_params())
def test_mutant_loses_the_points_of_the_checks_that_target_it(assignment, mutant):
    namespace = solution_namespace(assignment, {mutant.function: mutant.source})
    results = run_cells(assignment, namespace, only=set(mutant.must_fail))
    assert set(results) == set(mutant.must_fail), "a targeted cell does not exist"
    survived = [grade_id for grade_id, (ok, *_rest) in results.items() if ok]
    assert survived == [], f"{mutant.name} kept the points of {survived}"
    for _, _, error_name, message in results.values():
        assert error_name == "CheckFailure", message
        for part in MESSAGE_PARTS:
            assert part in message


def alternative_params(expensive_cells: bool):
    return [pytest.param(a, name, id=f"{a}-{name}") for a in IDS for name in sorted(corpus(a).ALTERNATIVES)
            if not expensive_cells or expensive(a)]


@pytest.mark.parametrize("assignment, name", alternative_params(False))
def test_alternative_correct_solution_keeps_the_points_of_every_cheap_cell(assignment, name):
    namespace = solution_namespace(assignment, corpus(assignment).ALTERNATIVES[name])
    assert failures(run_cells(assignment, namespace, only=cheap(assignment))) == {}


@pytest.mark.slow
@pytest.mark.parametrize("assignment, name", alternative_params(True))
def test_alternative_correct_solution_passes_the_expensive_cells(assignment, name):
    namespace = solution_namespace(assignment, corpus(assignment).ALTERNATIVES[name])
    assert failures(run_cells(assignment, namespace, only=expensive(assignment))) == {}


@pytest.mark.parametrize("assignment", IDS)
def test_same_submission_graded_twice_through_the_sandbox_gets_the_same_verdict(assignment):
    """A partly wrong submission (``TWICE`` of the corpus), graded twice in fresh worker processes: identical
    per-cell results, outputs and messages, and exactly the cells it should lose fail. Its graded cells are
    named (unless it names ``only``), so that each run is only of the cells they need, not the teaching runs."""
    spec = corpus(assignment).TWICE
    nb = notebook_of(assignment, spec)
    only = spec.only if spec.only is not None else set(graded_cells(assignment)) - set(spec.deleted)
    first = grade_notebook(nb, assignment, only=only)
    second = grade_notebook(nb, assignment, only=only)
    summary = [(c.grade_id, c.passed, c.output, c.error_message) for c in first.cells]
    assert summary == [(c.grade_id, c.passed, c.output, c.error_message) for c in second.cells]
    if not spec.unsolved:  # (a teaching cell that calls an unsolved answer fails to run, as it should)
        assert first.load_errors == []
    assert {c.grade_id for c in first.cells if not c.passed} == set(spec.lost)
    assert first.points == first.max_points - sum(spec.lost.values())
    points = registry()[assignment].points(ROOT)
    assert all(points[grade_id] == lost for grade_id, lost in spec.lost.items())
