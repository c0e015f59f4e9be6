"""Assignment 2's own tests (DQN on CartPole-v1; what every assignment's checks must satisfy is in
tests/test_checks.py, end to end through nbgrader in tests/test_e2e.py, where the 50,000-step learning check
runs once by default): a failure message in full, training determinism, and, slow, the learning check repeated
on other seeds."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from autograder.assignments import dqn as checks
from autograder.grading.notebook import grade_notebook
from autograder.toolkit.framework import CheckFailure
from tests.corpus.dqn import MUTANTS, TOO_SLOW
from tests.helpers import busy_machine, notebook_of, solution_namespace

ASSIGNMENT = "dqn"


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["double_dqn_argmax_from_target_net"]
    namespace = solution_namespace(ASSIGNMENT, {bug.function: bug.source})
    with pytest.raises(CheckFailure) as failure:
        checks.check_double_dqn_targets(namespace["double_dqn_targets"])
    assert "argmax_a Q_online(s', a)" in failure.value.prop
    assert "reference net seed" in failure.value.falsifying_input
    assert "ONLINE network's argmax" in failure.value.hint


def test_training_is_deterministic_for_a_seed():
    namespace = solution_namespace(ASSIGNMENT)
    config = dict(checks.INTERFACE_CONFIG)
    runs = [namespace["train_dqn"](gym.make("CartPole-v1"), 800, config, 9) for _ in range(2)]
    assert np.array_equal(runs[0][1], runs[1][1])
    for (a, b) in zip(runs[0][0].state_dict().values(), runs[1][0].state_dict().values(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())


@pytest.mark.slow
@pytest.mark.parametrize("seed", [checks.GRADING_SEED, 0, 1, 2, 3, 4])
def test_learning_threshold_is_met_by_the_solution_on_several_seeds(seed):
    """The threshold is honest: the reference reaches 475 within 50,000 steps on the grading seed and others."""
    namespace = solution_namespace(ASSIGNMENT)
    _, returns = namespace["train_dqn"](gym.make("CartPole-v1"), checks.LEARNING_STEPS,
                                        dict(checks.LEARNING_CONFIG), seed)
    assert returns.max() >= checks.RETURN_THRESHOLD, returns


def learning_check_of(nb):
    """The verdict of the learning check alone, with the CPU and wall seconds it took."""
    verdict = grade_notebook(nb, ASSIGNMENT, only={"dqn_learns_cartpole"})
    (cell,) = verdict.cells
    return cell, verdict.cpu_seconds[cell.grade_id], verdict.seconds[cell.grade_id]


@pytest.mark.slow
def test_the_learning_check_gives_full_marks_on_a_saturated_machine():
    """Its budget counts the CPU seconds of the student's code: the reference (about 37) keeps its points with
    three spinning processes per core beside it, however long that takes on the wall clock."""
    with busy_machine(per_core=3):
        cell, cpu, wall = learning_check_of(notebook_of(ASSIGNMENT))
    print(f"dqn_learns_cartpole on a saturated machine: {cpu:.0f} CPU s, {wall:.0f} wall s")
    assert cell.passed, cell.error_message
    assert cpu < checks.LEARNING_TIMEOUT / 3


@pytest.mark.slow
def test_a_training_loop_twenty_times_slower_fails_as_too_slow():
    nb = notebook_of(ASSIGNMENT)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == f"answer_{TOO_SLOW.function}":
            cell.source = TOO_SLOW.source
    cell, cpu, wall = learning_check_of(nb)
    print(f"{TOO_SLOW.name}: {cpu:.0f} CPU s, {wall:.0f} wall s")
    assert not cell.passed
    assert f"did not return within {checks.LEARNING_TIMEOUT:.0f} CPU seconds" in cell.error_message
