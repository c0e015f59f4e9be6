"""Assignment 1's checks against the instructor solution, a corpus of mutants, and alternative solutions."""

from __future__ import annotations

import pytest

from autograder.assignments import tabular_q_learning as checks
from autograder.grading.notebook import grade_notebook, read_notebook
from autograder.toolkit.framework import CheckFailure
from tests.corpus.tabular_q_learning import ALTERNATIVES, MUTANTS
from tests.helpers import graded_cells, load_in_process, replace_function, run_cells, solution_sources, source_notebook

ASSIGNMENT = "tabular_q_learning"


def solution_namespace(overrides: dict[str, str] | None = None) -> dict:
    sources = solution_sources(ASSIGNMENT)
    for name, source in (overrides or {}).items():
        sources = replace_function(sources, name, source)
    return load_in_process(sources)


def failures(results: dict[str, tuple]) -> dict[str, str]:
    return {grade_id: message for grade_id, (ok, _, _, message) in results.items() if not ok}


def test_every_contract_function_has_an_answer_cell_and_a_check():
    names = {filename for filename, _ in solution_sources(ASSIGNMENT)}
    for function in checks.CONTRACT:
        assert f"<cell answer_{function}>" in names
    assert len(graded_cells(ASSIGNMENT)) >= 10


def test_instructor_solution_passes_every_graded_cell_in_process():
    results = run_cells(ASSIGNMENT, solution_namespace(), checks.CONTRACT)
    assert failures(results) == {}
    assert all(output.startswith("PASSED") for _, output, _, _ in results.values())


def test_instructor_solution_gets_full_marks_through_the_sandbox():
    verdict = grade_notebook(read_notebook(source_notebook(ASSIGNMENT)), ASSIGNMENT)
    assert verdict.load_errors == []
    assert [c.grade_id for c in verdict.cells if not c.passed] == []
    assert verdict.points == verdict.max_points == 40


def test_the_corpus_is_large_enough():
    assert len(MUTANTS) >= 10
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert len(ALTERNATIVES) >= 2


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_the_points_of_the_check_that_targets_it(mutant):
    namespace = solution_namespace({mutant.function: mutant.source})
    results = run_cells(ASSIGNMENT, namespace, checks.CONTRACT, only=set(mutant.must_fail))
    assert set(results) == set(mutant.must_fail), "a targeted cell does not exist"
    survived = [grade_id for grade_id, (ok, *_rest) in results.items() if ok]
    assert survived == [], f"{mutant.name} kept the points of {survived}"
    for _, _, error_name, message in results.values():
        if error_name == "CheckFailure":
            for part in ("Property failed:", "Input:", "Expected:", "Got:", "Hint:"):
                assert part in message


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_alternative_correct_solution_keeps_full_marks(name):
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT)
    assert failures(results) == {}


def test_same_submission_graded_twice_gets_the_same_verdict():
    """A partly wrong submission, graded twice through the sandbox: identical per-cell results."""
    nb = read_notebook(source_notebook(ASSIGNMENT))
    buggy = {m.name: m for m in MUTANTS}["epsilon_greedy_explores_only_non_greedy"]
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_epsilon_greedy":
            cell.source = buggy.source
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_train_q_learning":
            cell.source = "from tqdm.auto import tqdm\n" + cell.source
    first = grade_notebook(nb, ASSIGNMENT)
    second = grade_notebook(nb, ASSIGNMENT)
    summary = [(c.grade_id, c.passed, c.error_message) for c in first.cells]
    assert summary == [(c.grade_id, c.passed, c.error_message) for c in second.cells]
    assert 0 < first.points < first.max_points


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["update_bootstraps_from_terminal"]
    namespace = solution_namespace({bug.function: bug.source})
    with pytest.raises(CheckFailure) as failure:
        checks.check_update_terminal_vs_truncated(namespace["q_learning_update"])
    message = str(failure.value)
    assert "terminated=True ignores Q[next_state]" in message
    assert "terminated=True" in failure.value.falsifying_input
    assert "no next state to bootstrap from" in failure.value.hint


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_learning_threshold_is_met_by_the_solution_on_many_seeds(seed):
    """The 0.70 threshold is honest: the reference reaches it on every one of ten other seeds."""
    from rlir.frozenlake import make_frozenlake, policy_success_probability

    namespace = solution_namespace()
    env = make_frozenlake()
    q, _ = namespace["train_q_learning"](env, checks.LEARNING_EPISODES, 0.1, 0.99, 1.0, 0.01, 0.5, seed)
    assert policy_success_probability(env, q.argmax(axis=1)) >= checks.SUCCESS_THRESHOLD
