"""Assignment 2 (DQN on CartPole-v1): the instructor solution passes every check, each realistic mistake
loses the points of the check that targets it, differently written correct solutions keep full marks, and the
same submission always gets the same verdict. The 50,000-step learning check runs once by default, in the
nbgrader end-to-end test; the runs that repeat it are marked slow."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest

from autograder.assignments import dqn as checks
from autograder.grading.notebook import grade_notebook, read_notebook
from autograder.toolkit.framework import CheckFailure
from tests.corpus.dqn import ALTERNATIVES, MUTANTS, SLOW_MUTANTS
from tests.helpers import graded_cells, load_in_process, replace_function, run_cells, solution_sources, source_notebook

ASSIGNMENT = "dqn"
LEARNING_CELL = "dqn_learns_cartpole"
TOTAL_POINTS = 50


def solution_namespace(overrides: dict[str, str] | None = None) -> dict:
    sources = solution_sources(ASSIGNMENT)
    for name, source in (overrides or {}).items():
        sources = replace_function(sources, name, source)
    return load_in_process(sources)


def failures(results: dict[str, tuple]) -> dict[str, str]:
    return {grade_id: message for grade_id, (ok, _, _, message) in results.items() if not ok}


def fast_cells() -> set[str]:
    return set(graded_cells(ASSIGNMENT)) - {LEARNING_CELL}


def notebook_without_learning_cell(overrides: dict[str, str] | None = None, drop: tuple[str, ...] = ()):
    nb = copy.deepcopy(read_notebook(source_notebook(ASSIGNMENT)))
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in (LEARNING_CELL, *drop)]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        for name, source in (overrides or {}).items():
            if grade_id == f"answer_{name}":
                cell.source = source
    return nb


def test_every_contract_name_has_an_answer_cell_and_the_points_add_up():
    names = {filename for filename, _ in solution_sources(ASSIGNMENT)}
    for name in checks.CONTRACT:
        assert f"<cell answer_{name}>" in names
    nb = read_notebook(source_notebook(ASSIGNMENT))
    points = [c.metadata["nbgrader"]["points"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(points) >= 15 and sum(points) == TOTAL_POINTS
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_instructor_solution_passes_every_fast_graded_cell_in_process():
    results = run_cells(ASSIGNMENT, solution_namespace(), checks.CONTRACT, only=fast_cells())
    assert failures(results) == {}
    assert all(output.strip().splitlines()[-1].startswith("PASSED") for _, output, _, _ in results.values())


def test_instructor_solution_passes_every_fast_cell_through_the_sandbox():
    verdict = grade_notebook(notebook_without_learning_cell(), ASSIGNMENT)
    assert verdict.load_errors == []
    assert [(c.grade_id, c.error_message) for c in verdict.cells if not c.passed] == []
    assert verdict.points == verdict.max_points == TOTAL_POINTS - 8


def test_the_corpus_is_large_enough():
    names = [m.name for m in MUTANTS + SLOW_MUTANTS]
    assert len(MUTANTS) >= 12 and len(set(names)) == len(names)
    assert len(ALTERNATIVES) >= 2


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
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
def test_alternative_correct_solution_keeps_full_marks(name):
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT, only=fast_cells())
    assert failures(results) == {}


def test_same_submission_graded_twice_gets_the_same_verdict():
    """A partly wrong submission, graded twice through the sandbox: identical per-cell results."""
    buggy = {m.name: m for m in MUTANTS}
    nb = notebook_without_learning_cell({"DuelingQNetwork": buggy["dueling_subtracts_max"].source,
                                         "PrioritizedReplayBuffer": buggy["per_weights_not_normalised"].source},
                                        drop=("train_dqn_interface",))  # training determinism: tested below
    first = grade_notebook(nb, ASSIGNMENT)
    second = grade_notebook(nb, ASSIGNMENT)
    summary = [(c.grade_id, c.passed, c.output, c.error_message) for c in first.cells]
    assert summary == [(c.grade_id, c.passed, c.output, c.error_message) for c in second.cells]
    assert {c.grade_id for c in first.cells if not c.passed} == {"dueling_mean_q_is_value", "per_importance_weights"}


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["double_dqn_argmax_from_target_net"]
    namespace = solution_namespace({bug.function: bug.source})
    with pytest.raises(CheckFailure) as failure:
        checks.check_double_dqn_targets(namespace["double_dqn_targets"])
    assert "argmax_a Q_online(s', a)" in failure.value.prop
    assert "reference net seed" in failure.value.falsifying_input
    assert "ONLINE network's argmax" in failure.value.hint


def test_training_is_deterministic_for_a_seed():
    namespace = solution_namespace()
    config = dict(checks.INTERFACE_CONFIG)
    runs = [namespace["train_dqn"](gym.make("CartPole-v1"), 800, config, 9) for _ in range(2)]
    assert np.array_equal(runs[0][1], runs[1][1])
    for (a, b) in zip(runs[0][0].state_dict().values(), runs[1][0].state_dict().values(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())


# ---------------------------------------------------------------------------------------------------------
# Slow: the learning check, repeated
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("seed", [checks.GRADING_SEED, 0, 1, 2, 3, 4])
def test_learning_threshold_is_met_by_the_solution_on_several_seeds(seed):
    """The threshold is honest: the reference reaches 475 within 50,000 steps on the grading seed and others."""
    namespace = solution_namespace()
    _, returns = namespace["train_dqn"](gym.make("CartPole-v1"), checks.LEARNING_STEPS,
                                        dict(checks.LEARNING_CONFIG), seed)
    assert returns.max() >= checks.RETURN_THRESHOLD, returns


@pytest.mark.slow
@pytest.mark.parametrize("mutant", SLOW_MUTANTS, ids=lambda m: m.name)
def test_slow_mutant_fails_the_learning_check(mutant):
    results = run_cells(ASSIGNMENT, solution_namespace({mutant.function: mutant.source}), checks.CONTRACT,
                        only={LEARNING_CELL})
    assert not results[LEARNING_CELL][0]


@pytest.mark.slow
def test_alternative_training_loop_passes_the_learning_check():
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES["other_random_streams"]), checks.CONTRACT,
                        only={LEARNING_CELL})
    assert failures(results) == {}
