"""Assignment 5's checks against the instructor solution, a corpus of mutants, and alternative solutions."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest
import torch

from autograder.assignments import reinforce_for_ir as checks
from autograder.grading.notebook import grade_notebook, read_notebook
from autograder.toolkit.framework import CheckFailure
from rlir.envs.ranking import make_splits, reference_scores
from rlir.ir_metrics import ndcg_of_scores
from tests.corpus.reinforce_for_ir import ALTERNATIVES, MUTANTS
from tests.helpers import graded_cells, load_in_process, replace_function, run_cells, solution_sources, source_notebook

ASSIGNMENT = "reinforce_for_ir"
LEARNING_CELLS = {"learns_from_labels", "learns_from_clicks"}
TOTAL_POINTS = 52


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
    assert len(cells) == 13
    sources = "\n".join(cells.values())
    for function in checks.CONTRACT:
        assert function in sources, f"no graded cell uses {function}"


def test_instructor_solution_passes_every_fast_cell_in_process():
    cells = set(graded_cells(ASSIGNMENT)) - LEARNING_CELLS
    results = run_cells(ASSIGNMENT, solution_namespace(), checks.CONTRACT, only=cells)
    assert failures(results) == {}
    assert all(output.strip().splitlines()[-1].startswith("PASSED") for _, output, _, _ in results.values())


def without_cells(nb, grade_ids):
    nb.cells = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") not in grade_ids]
    return nb


def test_instructor_solution_gets_full_marks_through_the_sandbox():
    """Every cell but the learning checks (the end-to-end nbgrader run grades those through the sandbox), with
    the student's code in the sandbox process: torch generators as fixtures, scorers as references."""
    nb = without_cells(read_notebook(source_notebook(ASSIGNMENT)), LEARNING_CELLS)
    verdict = grade_notebook(nb, ASSIGNMENT)
    assert verdict.load_errors == []
    assert [(c.grade_id, c.error_message) for c in verdict.cells if not c.passed] == []
    assert verdict.points == verdict.max_points == TOTAL_POINTS - 12


@pytest.mark.slow
def test_instructor_solution_gets_full_marks_through_the_sandbox_learning_included():
    verdict = grade_notebook(read_notebook(source_notebook(ASSIGNMENT)), ASSIGNMENT)
    assert [(c.grade_id, c.error_message) for c in verdict.cells if not c.passed] == []
    assert verdict.points == verdict.max_points == TOTAL_POINTS


def test_the_corpus_is_large_enough():
    assert len(MUTANTS) >= 10
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert len({m.function for m in MUTANTS}) == len(checks.CONTRACT)  # every contract name has a mutant
    assert len(ALTERNATIVES) >= 2


def assert_mutant_fails(mutant) -> None:
    namespace = solution_namespace({mutant.function: mutant.source})
    results = run_cells(ASSIGNMENT, namespace, checks.CONTRACT, only=set(mutant.must_fail))
    assert set(results) == set(mutant.must_fail), "a targeted cell does not exist"
    survived = [grade_id for grade_id, (ok, *_rest) in results.items() if ok]
    assert survived == [], f"{mutant.name} kept the points of {survived}"
    for _, _, error_name, message in results.values():
        if error_name == "CheckFailure":
            for part in ("Property failed:", "Input:", "Expected:", "Got:", "Hint:"):
                assert part in message


@pytest.mark.parametrize("mutant", [m for m in MUTANTS if not m.slow], ids=lambda m: m.name)
def test_mutant_loses_the_points_of_the_check_that_targets_it(mutant):
    assert_mutant_fails(mutant)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [m for m in MUTANTS if m.slow], ids=lambda m: m.name)
def test_learning_mutant_fails_the_learning_checks(mutant):
    assert_mutant_fails(mutant)


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_alternative_correct_solution_keeps_full_marks(name):
    cells = set(graded_cells(ASSIGNMENT)) - LEARNING_CELLS
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT, only=cells)
    assert failures(results) == {}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_alternative_correct_solution_clears_the_learning_checks(name):
    """The thresholds do not depend on the solution's use of random numbers (another sampler, another
    baseline, another loop)."""
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT, only=LEARNING_CELLS)
    assert failures(results) == {}


def test_same_submission_graded_twice_gets_the_same_verdict():
    """A partly wrong submission (softmax over all documents in the loss), graded twice through the sandbox,
    on the cells that need no long sampling or training: identical per-cell results and messages."""
    buggy = {m.name: m for m in MUTANTS}["loss_softmax_over_all_documents"]
    nb = without_cells(read_notebook(source_notebook(ASSIGNMENT)), LEARNING_CELLS | {
        "sample_ranking_frequencies", "plackett_luce_normalised", "train_ranker_interface"})
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_ranking_reinforce_loss":
            cell.source = buggy.source
    first = grade_notebook(nb, ASSIGNMENT)
    second = grade_notebook(nb, ASSIGNMENT)
    summary = [(c.grade_id, c.passed, c.error_message) for c in first.cells]
    assert summary == [(c.grade_id, c.passed, c.error_message) for c in second.cells]
    assert {c.grade_id for c in first.cells if not c.passed} == {"reinforce_loss_value", "baseline_unbiased"}


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["sample_with_replacement"]
    namespace = solution_namespace({bug.function: bug.source})
    with pytest.raises(CheckFailure) as failure:
        checks.check_sample_ranking_valid(namespace["sample_ranking"])
    assert "k distinct documents" in failure.value.prop
    assert "torch.Generator().manual_seed" in failure.value.falsifying_input
    assert "without replacement" in failure.value.hint


def test_plackett_luce_helpers_agree_with_sampling_by_the_definition():
    """The grader's enumeration is itself a distribution, and equals sequential softmax sampling."""
    scores = [0.4, -1.0, 1.3, 0.0]
    rankings, probs = checks.pl_distribution(scores, 2)
    assert len(rankings) == 12 and probs.sum() == pytest.approx(1.0)
    p = np.exp(scores) / np.exp(scores).sum()
    first, second = rankings[probs.argmax()]
    rest = np.delete(np.arange(4), first)
    expected = p[first] * np.exp(scores[second]) / np.exp(np.array(scores)[rest]).sum()
    assert probs.max() == pytest.approx(expected)


def train_and_measure(seed: int, mode: str) -> tuple[float, float]:
    """(held-out NDCG@10 / oracle, CPU seconds) of the instructor solution with the learning check's settings."""
    namespace = solution_namespace()
    episodes, config = ((checks.LABELS_EPISODES, checks.LABELS_CONFIG) if mode == "labels"
                        else (checks.CLICKS_EPISODES, checks.CLICKS_CONFIG))
    start = time.process_time()
    scorer, _ = namespace["train_ranker"](gym.make(checks.ENV_ID, reward_mode=mode), episodes, dict(config), seed)
    cpu = time.process_time() - start
    train, test = make_splits()
    with torch.no_grad():
        scores = np.stack([scorer(torch.tensor(f)).numpy() for f in test.features])
    ndcg = ndcg_of_scores(scores, test.labels, 10).mean()
    return ndcg / reference_scores((train, test))["oracle"], cpu


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("mode", ["labels", "clicks"])
def test_learning_thresholds_are_met_by_the_solution_on_other_seeds(mode, seed):
    """The thresholds are honest: the reference clears them on five other seeds, well within a CPU minute."""
    ratio, cpu = train_and_measure(seed, mode)
    assert ratio >= (checks.LABELS_RATIO if mode == "labels" else checks.CLICKS_RATIO)
    assert cpu < 60
