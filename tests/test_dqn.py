"""Assignment 2's own tests (DQN on CartPole-v1; what every assignment's checks must satisfy is in
tests/test_checks.py, end to end through nbgrader in tests/test_e2e.py, where the 50,000-step learning check
runs once by default): a failure message in full, training determinism, and, slow, the learning check repeated
on other seeds."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from autograder.assignments import dqn as checks
from autograder.toolkit.framework import CheckFailure
from tests.corpus.dqn import MUTANTS
from tests.helpers import solution_namespace

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
