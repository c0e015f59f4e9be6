"""Assignment 6's own tests (what every assignment's checks must satisfy is in tests/test_checks.py, end to end
through nbgrader in tests/test_e2e.py, where the 200,000-step CartPole learning check runs once by default): a
failure message in full, the probe environments' true values, and, slow, the learning threshold on other
seeds."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.assignments import actor_critic as checks
from autograder.toolkit.framework import CheckFailure
from tests.corpus.actor_critic import MUTANTS
from tests.helpers import solution_namespace

ASSIGNMENT = "actor_critic"


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["actor_advantages_not_detached"]
    namespace = solution_namespace(ASSIGNMENT, {bug.function: bug.source})
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
    namespace = solution_namespace(ASSIGNMENT)
    policy, _, _ = namespace["train_a2c"](checks.LEARNING_ENVS, checks.LEARNING_STEPS, checks.LEARNING_CONFIG, seed)
    returns = checks.greedy_returns("learning", "solution", policy)
    assert np.mean(returns) >= checks.SOLVED_RETURN


