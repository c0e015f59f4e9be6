"""Assignment 1's own tests (what every assignment's checks must satisfy is in tests/test_checks.py, end to end
through nbgrader in tests/test_e2e.py): a failure message in full, and the learning threshold on other seeds."""

from __future__ import annotations

import pytest

from autograder.assignments import tabular_q_learning as checks
from autograder.toolkit.framework import CheckFailure
from tests.corpus.tabular_q_learning import MUTANTS
from tests.helpers import solution_namespace

ASSIGNMENT = "tabular_q_learning"


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["update_bootstraps_from_terminal"]
    namespace = solution_namespace(ASSIGNMENT, {bug.function: bug.source})
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

    namespace = solution_namespace(ASSIGNMENT)
    env = make_frozenlake()
    q, _ = namespace["train_q_learning"](env, checks.LEARNING_EPISODES, 0.1, 0.99, 1.0, 0.01, 0.5, seed)
    assert policy_success_probability(env, q.argmax(axis=1)) >= checks.SUCCESS_THRESHOLD
