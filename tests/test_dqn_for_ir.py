"""Assignment 3's checks against the instructor solution, a corpus of mutants, and alternative solutions."""

from __future__ import annotations

import gymnasium as gym
import pytest

from autograder.assignments import dqn_for_ir as checks
from autograder.grading.notebook import answer_sources, grade_notebook, read_notebook
from autograder.sandbox import Sandbox
from autograder.toolkit.framework import CheckFailure
from tests.corpus.dqn_for_ir import ALTERNATIVES, MUTANTS
from tests.helpers import graded_cells, load_in_process, replace_function, run_cells, solution_sources, source_notebook

ASSIGNMENT = "dqn_for_ir"
LEARNING = "recommender_learns"  # the expensive cell: run by the e2e test, and in the slow tests here
TOTAL_POINTS = 37


def solution_namespace(overrides: dict[str, str] | None = None) -> dict:
    sources = solution_sources(ASSIGNMENT)
    for name, source in (overrides or {}).items():
        sources = replace_function(sources, name, source)
    return load_in_process(sources)


def failures(results: dict[str, tuple]) -> dict[str, str]:
    return {grade_id: message for grade_id, (ok, _, _, message) in results.items() if not ok}


def cheap_cells() -> set[str]:
    return set(graded_cells(ASSIGNMENT)) - {LEARNING}


def test_every_contract_function_has_an_answer_cell_and_a_check():
    names = {filename for filename, _ in solution_sources(ASSIGNMENT)}
    for function in checks.CONTRACT:
        assert f"<cell answer_{function}>" in names
    cells = graded_cells(ASSIGNMENT)
    assert len(cells) == 8
    for function in checks.CONTRACT:
        assert any(function in source for source in cells.values())


def test_the_reference_figures_are_the_environments_exact_values():
    from rlir.envs.user_satisfaction import baseline_returns

    exact = baseline_returns()
    assert exact["optimal"] == pytest.approx(checks.DP_OPTIMUM, abs=1e-3)
    assert exact["best_constant"] == pytest.approx(checks.BEST_CONSTANT, abs=1e-3)
    assert exact["random"] == pytest.approx(checks.RANDOM_RETURN, abs=1e-3)
    assert exact["myopic"] == pytest.approx(checks.MYOPIC_RETURN, abs=1e-3)
    # the threshold separates the optimum from the best policy that ignores the user's state
    assert checks.BEST_CONSTANT < checks.LEARNING_FRACTION * checks.DP_OPTIMUM


def test_the_environment_is_re_made_from_its_spec_in_the_students_process():
    """The setup cell imports rlir, so gym.make of the registered id works where the student's code runs."""
    setup = [(name, source) for name, source in solution_sources(ASSIGNMENT) if name == "<cell setup-imports>"]
    probe = "def probe(env):\n    obs, _ = env.reset(seed=0)\n    return env.spec.id, obs, int(env.action_space.n)\n"
    with Sandbox([*setup, ("<cell answer_probe>", probe)]) as sandbox:
        env_id, obs, n_actions = sandbox.function("probe")(gym.make(checks.ENV_ID))
    assert env_id == checks.ENV_ID and n_actions == checks.N_ITEMS and obs.tolist() == [0.5, 0.0]


def test_instructor_solution_passes_every_cheap_graded_cell_in_process():
    results = run_cells(ASSIGNMENT, solution_namespace(), checks.CONTRACT, only=cheap_cells())
    assert failures(results) == {}
    assert all(output.startswith("PASSED") for _, output, _, _ in results.values())


def test_the_corpus_is_large_enough():
    assert len(MUTANTS) >= 8
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert {m.function for m in MUTANTS} == set(checks.CONTRACT)
    assert len(ALTERNATIVES) >= 2


def mutant_params():
    return [pytest.param(m, id=m.name, marks=[pytest.mark.slow] if LEARNING in m.must_fail else [])
            for m in MUTANTS]


@pytest.mark.parametrize("mutant", mutant_params())
def test_mutant_loses_the_points_of_the_check_that_targets_it(mutant):
    namespace = solution_namespace({mutant.function: mutant.source})
    results = run_cells(ASSIGNMENT, namespace, checks.CONTRACT, only=set(mutant.must_fail))
    assert set(results) == set(mutant.must_fail), "a targeted cell does not exist"
    survived = [grade_id for grade_id, (ok, *_rest) in results.items() if ok]
    assert survived == [], f"{mutant.name} kept the points of {survived}"
    for _, _, error_name, message in results.values():
        assert error_name == "CheckFailure", message
        for part in ("Property failed:", "Input:", "Expected:", "Got:", "Hint:"):
            assert part in message


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_alternative_correct_solution_keeps_the_points_of_every_cheap_cell(name):
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT, only=cheap_cells())
    assert failures(results) == {}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_alternative_correct_solution_passes_the_learning_check(name):
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT, only={LEARNING})
    assert failures(results) == {}


def test_same_submission_graded_twice_gets_the_same_verdict():
    """A partly wrong submission (no trainer, a buggy masked_max), graded twice through the sandbox."""
    nb = read_notebook(source_notebook(ASSIGNMENT))
    buggy = {m.name: m for m in MUTANTS}["masked_max_multiplies_by_the_mask"]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "answer_masked_max":
            cell.source = buggy.source
        if grade_id == "answer_train_recommender_dqn":
            cell.source = ("def train_recommender_dqn(env, total_steps, config, seed):\n"
                           "    raise NotImplementedError()\n")
    first = grade_notebook(nb, ASSIGNMENT)
    second = grade_notebook(nb, ASSIGNMENT)
    summary = [(c.grade_id, c.passed, c.error_message) for c in first.cells]
    assert summary == [(c.grade_id, c.passed, c.error_message) for c in second.cells]
    assert first.max_points == TOTAL_POINTS
    assert first.points == TOTAL_POINTS - 5 - 3 - 4 - 10
    assert [c.grade_id for c in first.cells if not c.passed] == [
        "masked_max_ignores_masked", "train_recommender_dqn_interface", "myopic_recommender_collapses", LEARNING]


def test_answer_cells_run_cleanly_in_the_sandbox():
    with Sandbox(answer_sources(read_notebook(source_notebook(ASSIGNMENT)))) as sandbox:
        assert [load.error for load in sandbox.loads if not load.ok] == []
        assert all(sandbox.defines(list(checks.CONTRACT)).values())


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["masked_argmax_multiplies_by_the_mask"]
    namespace = solution_namespace({bug.function: bug.source})
    with pytest.raises(CheckFailure) as failure:
        checks.check_masked_argmax_never_masked(namespace["masked_argmax"])
    message = str(failure.value)
    assert "even when an unavailable action has a larger value" in message
    assert "mask=" in failure.value.falsifying_input
    assert "multiplying by the mask" in failure.value.hint


@pytest.mark.slow
def test_instructor_solution_gets_full_marks_through_the_sandbox():
    verdict = grade_notebook(read_notebook(source_notebook(ASSIGNMENT)), ASSIGNMENT)
    assert verdict.load_errors == []
    assert [c.grade_id for c in verdict.cells if not c.passed] == []
    assert verdict.points == verdict.max_points == TOTAL_POINTS


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_learning_threshold_is_met_by_the_solution_on_other_seeds(seed):
    """The 0.95 threshold is honest: the reference clears it on other seeds too."""
    namespace = solution_namespace()
    net, _ = namespace["train_recommender_dqn"](gym.make(checks.ENV_ID), checks.LEARNING_STEPS,
                                                checks.LEARNING_CONFIG, seed)
    returns = checks.greedy_returns("learning", "seed", net)
    assert returns.mean() >= checks.LEARNING_FRACTION * checks.DP_OPTIMUM
