"""Assignment 5's own tests (what every assignment's checks must satisfy is in tests/test_checks.py, end to end
through nbgrader in tests/test_e2e.py): a failure message in full, the Plackett-Luce helpers, and, slow, the
learning thresholds on other seeds within a CPU minute."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest
import torch

from autograder.assignments import reinforce_for_ir as checks
from autograder.toolkit.framework import CheckFailure
from rlir.envs.ranking import make_splits, reference_scores
from rlir.ir_metrics import ndcg_of_scores
from tests.corpus.reinforce_for_ir import MUTANTS
from tests.helpers import solution_namespace

ASSIGNMENT = "reinforce_for_ir"


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["sample_with_replacement"]
    namespace = solution_namespace(ASSIGNMENT, {bug.function: bug.source})
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
    namespace = solution_namespace(ASSIGNMENT)
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
