"""Assignment 7's checks against the instructor solution, a corpus of mutants, and alternative solutions."""

from __future__ import annotations

import re
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from autograder.assignments import learning_from_logs as checks
from autograder.grading.notebook import grade_notebook, read_notebook
from autograder.toolkit.framework import CheckFailure
from tests.corpus.learning_from_logs import ALTERNATIVES, MUTANTS
from tests.helpers import (
    ROOT,
    graded_cells,
    load_in_process,
    replace_function,
    run_cells,
    solution_sources,
    source_notebook,
)

ASSIGNMENT = "learning_from_logs"
TOTAL_POINTS = 46
N_CELLS = 13


def solution_namespace(overrides: dict[str, str] | None = None) -> dict:
    sources = solution_sources(ASSIGNMENT)
    for name, source in (overrides or {}).items():
        sources = replace_function(sources, name, source)
    return load_in_process(sources)


def failures(results: dict[str, tuple]) -> dict[str, str]:
    return {grade_id: message for grade_id, (ok, _, _, message) in results.items() if not ok}


def test_every_contract_name_has_an_answer_cell_and_a_check():
    names = {filename for filename, _ in solution_sources(ASSIGNMENT)}
    for function in checks.CONTRACT:
        assert f"<cell answer_{function}>" in names
    cells = graded_cells(ASSIGNMENT)
    assert len(cells) == N_CELLS
    sources = "\n".join(cells.values())
    for function in checks.CONTRACT:
        assert function in sources, f"no graded cell uses {function}"


def test_instructor_solution_passes_every_cell_in_process():
    results = run_cells(ASSIGNMENT, solution_namespace(), checks.CONTRACT)
    assert failures(results) == {}
    assert all(output.strip().splitlines()[-1].startswith("PASSED") for _, output, _, _ in results.values())


def test_instructor_solution_gets_full_marks_through_the_sandbox_in_well_under_a_minute():
    start = time.monotonic()
    verdict = grade_notebook(read_notebook(source_notebook(ASSIGNMENT)), ASSIGNMENT)
    elapsed = time.monotonic() - start
    assert verdict.load_errors == []
    assert [(c.grade_id, c.error_message) for c in verdict.cells if not c.passed] == []
    assert verdict.points == verdict.max_points == TOTAL_POINTS
    assert elapsed < 60


def test_the_corpus_is_large_enough():
    assert len(MUTANTS) >= 12
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert {m.function for m in MUTANTS} == set(checks.CONTRACT)  # every contract name has a mutant
    targeted = {cell for m in MUTANTS for cell in m.must_fail}
    assert targeted == set(graded_cells(ASSIGNMENT))  # every check catches some mistake
    assert len(ALTERNATIVES) >= 3


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
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT)
    assert failures(results) == {}


def test_same_submission_graded_twice_gets_the_same_verdict():
    """A partly wrong submission (the DR correction's sign flipped, clicks weighted by rank), graded twice
    through the sandbox: identical per-cell results and messages."""
    bugs = {m.name: m for m in MUTANTS}
    nb = read_notebook(source_notebook(ASSIGNMENT))
    for name in ("dr_correction_sign_flipped", "clicks_weighted_by_rank_not_by_examination"):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == f"answer_{bugs[name].function}":
                cell.source = bugs[name].source
    only = {"doubly_robust_unbiased", "doubly_robust_variance", "debiased_relevance_unbiased", "ips_unbiased",
            "linucb_regret"}
    first = grade_notebook(nb, ASSIGNMENT, only=only)
    second = grade_notebook(nb, ASSIGNMENT, only=only)
    summary = [(c.grade_id, c.passed, c.error_message) for c in first.cells]
    assert summary == [(c.grade_id, c.passed, c.error_message) for c in second.cells]
    assert {c.grade_id for c in first.cells if not c.passed} == {"doubly_robust_unbiased",
                                                                  "debiased_relevance_unbiased"}


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["clipping_the_product_not_the_weight"]
    namespace = solution_namespace({bug.function: bug.source})
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
    history = solution_namespace()["train_linucb"](gym.make(checks.ENV_ID), checks.LINUCB_ROUNDS,
                                                   checks.LINUCB_ALPHA, checks.GRADING_SEED)
    ours = checks.regret(history["actions"], contexts).sum()
    assert ours < 0.8 * eps_regret < 0.8 * rnd_regret


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_learning_thresholds_hold_for_the_solution_on_other_seeds(seed, monkeypatch):
    """The thresholds are honest: on other seeds the instructor solution still clears every learning check."""
    monkeypatch.setattr(checks, "GRADING_SEED", seed)
    only = {"click_ranker_learns", "behaviour_cloning", "linucb_regret"}
    results = run_cells(ASSIGNMENT, solution_namespace(), checks.CONTRACT, only=only)
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
