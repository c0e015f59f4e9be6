"""Assignment 6's checks against the instructor solution, a corpus of mutants, and alternative solutions.

The CartPole learning check (a 200,000-step training run) runs by default only in the nbgrader end-to-end
test (tests/test_actor_critic_e2e.py); here it is excluded from the in-process runs and repeated on other
seeds in the slow tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.assignments import actor_critic as checks
from autograder.grading.notebook import grade_notebook, read_notebook
from autograder.toolkit.framework import CheckFailure
from tests.corpus.actor_critic import ALTERNATIVES, MUTANTS
from tests.helpers import graded_cells, load_in_process, replace_function, run_cells, solution_sources, source_notebook

ASSIGNMENT = "actor_critic"
LEARNING_CELL = "a2c_learns_cartpole"


def solution_namespace(overrides: dict[str, str] | None = None) -> dict:
    sources = solution_sources(ASSIGNMENT)
    for name, source in (overrides or {}).items():
        sources = replace_function(sources, name, source)
    return load_in_process(sources)


def failures(results: dict[str, tuple]) -> dict[str, str]:
    return {grade_id: message for grade_id, (ok, _, _, message) in results.items() if not ok}


def quick_cells() -> set[str]:
    return set(graded_cells(ASSIGNMENT)) - {LEARNING_CELL}


def test_every_contract_name_has_an_answer_cell_and_the_cells_are_worth_50_points():
    names = {filename for filename, _ in solution_sources(ASSIGNMENT)}
    for name in checks.CONTRACT:
        assert f"<cell answer_{name}>" in names
    nb = read_notebook(source_notebook(ASSIGNMENT))
    points = [c.metadata["nbgrader"]["points"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(points) == 14 and sum(points) == 50
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_instructor_solution_passes_every_quick_graded_cell_in_process():
    results = run_cells(ASSIGNMENT, solution_namespace(), checks.CONTRACT, only=quick_cells())
    assert failures(results) == {}
    assert all(output.startswith("PASSED") for _, output, _, _ in results.values())


def test_the_corpus_is_large_enough():
    assert len(MUTANTS) >= 10
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert len(ALTERNATIVES) >= 1


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
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT, only=quick_cells())
    assert failures(results) == {}


def quick_notebook(replace: dict[str, str] | None = None):
    """The instructor notebook without the learning cell, with some answer cells replaced."""
    nb = read_notebook(source_notebook(ASSIGNMENT))
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != LEARNING_CELL]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.removeprefix("answer_") in (replace or {}):
            cell.source = replace[grade_id.removeprefix("answer_")]
    return nb


def test_same_submission_graded_twice_through_the_sandbox_gets_the_same_verdict():
    """A partly wrong submission (GAE runs through truncations, autoreset steps trained on), graded twice in
    fresh worker processes: identical per-cell results, and exactly the targeted cells fail."""
    by_name = {m.name: m for m in MUTANTS}
    nb = quick_notebook({"gae": by_name["gae_recursion_runs_through_truncation"].source,
                         "train_a2c": by_name["autoreset_step_treated_as_transition"].source})
    first = grade_notebook(nb, ASSIGNMENT)
    second = grade_notebook(nb, ASSIGNMENT)
    summary = [(c.grade_id, c.passed, c.error_message) for c in first.cells]
    assert summary == [(c.grade_id, c.passed, c.error_message) for c in second.cells]
    assert first.load_errors == []
    assert {c.grade_id for c in first.cells if not c.passed} == {"gae_lambda_limits", "gae_episode_boundaries",
                                                               "critic_probe_values"}
    assert first.points == first.max_points - 13


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["actor_advantages_not_detached"]
    namespace = solution_namespace({bug.function: bug.source})
    with pytest.raises(CheckFailure) as failure:
        checks.check_actor_loss_no_critic_gradient(namespace["actor_loss"], namespace["ValueNetwork"])
    assert "none into the critic" in str(failure.value)
    assert "advantages = critic(obs)" in failure.value.falsifying_input
    assert "advantages.detach()" in failure.value.hint


def test_probe_values_are_the_closed_form_ones():
    """The probe environments' true values, by simulation of their definition: 1 and 1/(1 - 0.5) = 2."""
    import gymnasium as gym

    from autograder.assignments.fixtures.actor_critic import ONE_STEP_ID, TRUNCATED_ID

    for env_id, truth in ((ONE_STEP_ID, 1.0), (TRUNCATED_ID, 2.0)):
        env = gym.make(env_id)
        env.reset(seed=0)
        total, discount = 0.0, 1.0
        for _ in range(60):  # the truncated probe continues in principle: value of an endless reward stream
            _, reward, terminated, truncated, _ = env.step(0)
            total += discount * reward
            discount *= checks.PROBE_CONFIG["gamma"]
            if terminated:
                break
            if truncated:
                env.reset()
        assert abs(total - truth) < 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_learning_threshold_is_met_by_the_solution_on_other_seeds(seed):
    """The 475 threshold is honest: the reference clears it on other seeds too."""
    namespace = solution_namespace()
    policy, _, _ = namespace["train_a2c"](checks.LEARNING_ENVS, checks.LEARNING_STEPS, checks.LEARNING_CONFIG, seed)
    returns = checks.greedy_returns("learning", "solution", policy)
    assert np.mean(returns) >= checks.SOLVED_RETURN


@pytest.mark.slow
def test_alternative_solution_learns_cartpole():
    namespace = solution_namespace(ALTERNATIVES["vectorised_and_functional"])
    results = run_cells(ASSIGNMENT, namespace, checks.CONTRACT, only={LEARNING_CELL})
    assert failures(results) == {}
