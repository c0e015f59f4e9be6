"""Assignment 7's own tests (what every assignment's checks must satisfy is in tests/test_checks.py, end to end
through nbgrader in tests/test_e2e.py): the whole notebook graded in well under a minute, every check catches a
mistake of the corpus, a failure message in full, the grader's enumerations and baselines, no solution shipped,
and, slow, the learning thresholds on other seeds."""

from __future__ import annotations

import re
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from autograder.assignments import learning_from_logs as checks
from autograder.assignments import registry
from autograder.grading.notebook import grade_notebook, read_notebook
from autograder.toolkit.framework import CheckFailure
from tests.corpus.learning_from_logs import MUTANTS
from tests.helpers import ROOT, expensive, failures, graded_cells, run_cells, solution_namespace, source_notebook

ASSIGNMENT = "learning_from_logs"


def test_instructor_solution_gets_full_marks_through_the_sandbox_in_well_under_a_minute():
    start = time.monotonic()
    verdict = grade_notebook(read_notebook(source_notebook(ASSIGNMENT)), ASSIGNMENT)
    elapsed = time.monotonic() - start
    assert verdict.load_errors == []
    assert [(c.grade_id, c.error_message) for c in verdict.cells if not c.passed] == []
    assert verdict.points == verdict.max_points == sum(registry()[ASSIGNMENT].points(ROOT).values())
    assert elapsed < 60


def test_every_check_catches_some_mistake_of_the_corpus():
    targeted = {cell for m in MUTANTS for cell in m.must_fail}
    assert targeted == set(graded_cells(ASSIGNMENT))  # every check catches some mistake


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["clipping_the_product_not_the_weight"]
    namespace = solution_namespace(ASSIGNMENT, {bug.function: bug.source})
    with pytest.raises(CheckFailure) as failure:
        checks.check_clipped_ips(namespace["clipped_ips_estimate"])
    assert "min(w_i, max_weight) * r_i" in failure.value.prop
    assert "max_weight=" in failure.value.falsifying_input
    assert "clipping the product" in failure.value.hint


def test_enumeration_helpers_agree_with_the_definitions():
    """The grader's enumerations are distributions, and the exact IPS variance dominates DR's on an example."""
    problem = checks.Problem(np.array([0.3, 0.7]), np.array([[0.5, 0.5], [0.2, 0.8]]),
                             np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.2, 0.9], [0.6, 0.1]]),
                             np.array([[0.5, 0.5], [0.5, 0.5]]))
    assert sum(p for p, _, _ in checks.logs_of_two_rounds(problem)) == pytest.approx(1.0)
    assert sum(p for p, _ in checks.logs_of_one_round(problem)) == pytest.approx(1.0)
    assert problem.value == pytest.approx(0.3 * 0.2 + 0.7 * 0.1)
    click = checks.ClickProblem(np.array([[0.5, 1.0]]), np.array([1.0, 0.5]), np.array([0, 0]),
                                np.array([[0, 1], [1, 0]]))
    assert sum(p for p, _ in checks.click_patterns(click)) == pytest.approx(1.0)
    A = np.stack([np.eye(2) * 2, np.eye(2)])
    b = np.array([[1.0, 0.0], [0.0, 0.5]])
    ucb = checks.upper_confidence_bounds(A, b, np.array([1.0, 1.0]), 1.0)
    assert ucb == pytest.approx([0.5 + 1.0, 0.5 + np.sqrt(2.0)])


def test_the_linucb_baselines_are_what_the_threshold_says():
    """On the grading seed the grader's ε-greedy beats random, and the instructor's LinUCB beats both with room."""
    eps = checks.baseline_actions("epsilon", checks.LINUCB_ROUNDS, checks.GRADING_SEED)
    rnd = checks.baseline_actions("random", checks.LINUCB_ROUNDS, checks.GRADING_SEED)
    contexts, _ = checks.replay(eps, checks.GRADING_SEED)
    eps_regret, rnd_regret = checks.regret(eps, contexts).sum(), checks.regret(rnd, contexts).sum()
    history = solution_namespace(ASSIGNMENT)["train_linucb"](gym.make(checks.ENV_ID), checks.LINUCB_ROUNDS,
                                                   checks.LINUCB_ALPHA, checks.GRADING_SEED)
    ours = checks.regret(history["actions"], contexts).sum()
    assert ours < 0.8 * eps_regret < 0.8 * rnd_regret


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_learning_thresholds_hold_for_the_solution_on_other_seeds(seed, monkeypatch):
    """The thresholds are honest: on other seeds the instructor solution still clears every learning check."""
    monkeypatch.setattr(checks, "GRADING_SEED", seed)
    results = run_cells(ASSIGNMENT, solution_namespace(ASSIGNMENT), only=expensive(ASSIGNMENT))
    assert failures(results) == {}


def _windows(text: str, size: int = 4) -> set[tuple[str, ...]]:
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    return {tuple(lines[i:i + size]) for i in range(len(lines) - size + 1)}


def test_no_solution_is_shipped_with_the_checks_or_the_library():
    """No four consecutive lines of a solution block appear in autograder/ or rlir/ (students receive both)."""
    nb = read_notebook(source_notebook(ASSIGNMENT))
    solutions = set()
    for cell in nb.cells:
        for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S):
            solutions |= _windows(block)
    assert solutions
    for folder in ("autograder", "rlir"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            shared = solutions & _windows(Path(path).read_text(encoding="utf-8"))
            assert not shared, f"{path} repeats a solution: {shared}"


# The property-based checks, the contract name each judges, and the least share of its generated examples that
# must catch some mistake of the corpus aimed at it (an example that no mistake can fail exercises nothing:
# every arm tied, x = 0, one user, rankings in id order...). Measured: ips_unbiased 23/25, doubly_robust_unbiased
# 25/25, doubly_robust_variance 23/25, debiased_relevance_unbiased 18/20, linucb_select 95/100 (its 4 chosen
# states apart), linucb_update 40/40.
EXERCISED = {"check_ips_unbiased": ("ips_unbiased", "ips_estimate", 0.9),
             "check_doubly_robust_unbiased": ("doubly_robust_unbiased", "dr_estimate", 0.9),
             "check_doubly_robust_variance": ("doubly_robust_variance", "dr_estimate", 0.9),
             "check_debiased_relevance_unbiased": ("debiased_relevance_unbiased", "debiased_relevance", 0.85),
             "check_linucb_select": ("linucb_select", "linucb_select", 0.9),
             "check_linucb_update": ("linucb_update", "linucb_update", 0.9)}


def caught_by_example(check, function, monkeypatch) -> np.ndarray:
    """For each generated example of ``check``'s property test (the same derandomised examples as in grading),
    whether ``function`` fails it."""
    caught = []
    real_for_all = checks.for_all

    def recording(strategy, body, *, max_examples=100):
        def probe(example):
            try:
                body(example)
                caught.append(False)
            except CheckFailure:
                caught.append(True)

        real_for_all(strategy, probe, max_examples=max_examples)

    with monkeypatch.context() as patch:
        patch.setattr(checks, "for_all", recording)
        patch.setattr(checks, "LINUCB_EXAMPLES", ())
        try:
            check(function)
        except CheckFailure:
            pass
    return np.array(caught)


@pytest.mark.parametrize("check_name", sorted(EXERCISED))
def test_generated_examples_exercise_the_property(check_name, monkeypatch):
    """Most derandomised examples of each property test catch a mistake of the corpus aimed at the check, and
    every such mistake is caught by some generated example or by a chosen one."""
    grade_id, function, least = EXERCISED[check_name]
    check = getattr(checks, check_name)
    aimed = [m for m in MUTANTS if grade_id in m.must_fail and m.function == function]
    assert aimed
    table = [caught_by_example(check, solution_namespace(ASSIGNMENT, {m.function: m.source})[m.function],
                               monkeypatch) for m in aimed]
    assert len({len(row) for row in table}) == 1 and len(table[0]) > 0
    share = np.any(table, axis=0).mean()
    assert share >= least, f"{check_name}: only {share:.0%} of the examples catch a mistake"


def test_every_chosen_linucb_state_has_one_best_arm():
    for A, b, x, alpha in checks.LINUCB_EXAMPLES:
        assert len(checks.best_arms(checks.upper_confidence_bounds(A, b, x, alpha))) == 1
