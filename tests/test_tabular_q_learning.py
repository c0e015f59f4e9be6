"""Assignment 1's own tests (what every assignment's checks must satisfy is in tests/test_checks.py, end to end
through nbgrader in tests/test_e2e.py): a failure message in full, and the learning threshold on other seeds."""

from __future__ import annotations

import pytest

from autograder.assignments import registry
from autograder.assignments import tabular_q_learning as checks
from autograder.toolkit.framework import CheckFailure
from tests.corpus.tabular_q_learning import MUTANTS, UNTRAINED, UNTRAINED_POINTS
from tests.helpers import ROOT, graded_cells, solution_namespace

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


def test_the_untrained_solution_batch_tests_grade_loses_the_points_it_states():
    """UNTRAINED (the solution, train_q_learning as released) stands in for a correct classmate where learning is
    not the subject; the batch tests count on its score, so its lost points are the notebook's, and its lost
    cells are exactly those that call train_q_learning."""
    points = registry()[ASSIGNMENT].points(ROOT)
    assert {grade_id: points[grade_id] for grade_id in UNTRAINED.lost} == UNTRAINED.lost
    assert sum(points.values()) - sum(UNTRAINED.lost.values()) == UNTRAINED_POINTS
    assert set(UNTRAINED.lost) == {g for g, source in graded_cells(ASSIGNMENT).items() if "train_q_learning" in source}


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_learning_threshold_is_met_by_the_solution_on_many_seeds(seed):
    """The 0.70 threshold is honest: the reference reaches it on every one of ten other seeds."""
    from rlir.frozenlake import make_frozenlake, policy_success_probability

    namespace = solution_namespace(ASSIGNMENT)
    env = make_frozenlake()
    q, _ = namespace["train_q_learning"](env, checks.LEARNING_EPISODES, 0.1, 0.99, 1.0, 0.01, 0.5, seed)
    assert policy_success_probability(env, q.argmax(axis=1)) >= checks.SUCCESS_THRESHOLD


def test_a_precomputed_table_that_never_touches_the_environment_fails_both_training_checks():
    """It keeps the interface's shapes, returns and reproducibility, and the course's lake; the tiny lakes and the
    mirror image tell it apart (run here without training: it returns at once)."""
    from rlir.frozenlake import policy_success_probability

    cheat = {m.name: m for m in MUTANTS}["train_returns_a_precomputed_table"]
    train = solution_namespace(ASSIGNMENT, {cheat.function: cheat.source})["train_q_learning"]
    with pytest.raises(CheckFailure, match="learns from the environment it is given"):
        checks.check_train_q_learning_interface(train)
    with pytest.raises(CheckFailure, match="mirror image") as failure:
        checks.check_q_learning_learns(train)
    assert "FHHG" in failure.value.falsifying_input  # it passed on the course's lake, failed on the mirror image
    mirror = checks.lake(checks.MIRRORED_MAP)
    q, _ = train(mirror, 10, 0.1, 0.99, 1.0, 0.01, 0.5, 0)
    print(f"the precomputed table on the mirror image: {policy_success_probability(mirror, q.argmax(axis=1)):.3f}")


def test_an_epsilon_greedy_that_ignores_its_rng_fails_both_frequency_checks():
    """Replaying the intended frequencies in a fixed cycle passes every frequency test, not the rng test."""
    cheat = {m.name: m for m in MUTANTS}["epsilon_greedy_replays_frequencies_in_a_cycle"]
    for check in (checks.check_epsilon_greedy_frequencies, checks.check_epsilon_greedy_ties):
        epsilon_greedy = solution_namespace(ASSIGNMENT, {cheat.function: cheat.source})["epsilon_greedy"]
        with pytest.raises(CheckFailure, match="same action both times"):
            check(epsilon_greedy)


def test_the_notebook_states_the_learning_checks_thresholds():
    """Assignment 1's text gives the numbers its training checks use, as the checks module defines them."""
    import nbformat

    from tests.helpers import source_notebook

    text = " ".join(c.source for c in nbformat.read(str(source_notebook(ASSIGNMENT)), 4).cells
                    if c.cell_type == "markdown")
    for fact in (f"{checks.LEARNING_EPISODES:,}", f"{checks.SUCCESS_THRESHOLD:.2f}", str(checks.GRADING_SEED),
                 "/".join(checks.MIRRORED_MAP), f"{checks.FROZENLAKE_OPTIMAL_SUCCESS:.3f}", f"{checks.RNG_SEEDS}",
                 *("`" + "/".join(desc) + "`" for desc, _, _ in checks.TINY_LAKES), f"{checks.TINY_EPISODES}"):
        assert fact in text, f"the notebook does not state {fact}"
