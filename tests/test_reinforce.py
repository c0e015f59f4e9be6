"""The REINFORCE assignment's checks against the instructor solution, a corpus of mutants, and an alternative
solution. Learning runs (a full training per check) are marked slow, except that the nbgrader end-to-end test
runs the instructor solution's learning checks once in the default run."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from autograder.assignments import reinforce as checks
from autograder.grading.notebook import grade_notebook, read_notebook
from autograder.toolkit.framework import CheckFailure
from rlir.point_reach import POINT_REACH_ID, PointReachEnv, optimal_action
from tests.corpus.reinforce import ALTERNATIVES, MUTANTS
from tests.helpers import graded_cells, load_in_process, replace_function, run_cells, solution_sources, source_notebook

ASSIGNMENT = "reinforce"
LEARNING = {"reinforce_cartpole", "reinforce_point_reach"}
TOTAL_POINTS = 44


def solution_namespace(overrides: dict[str, str] | None = None) -> dict:
    sources = solution_sources(ASSIGNMENT)
    for name, source in (overrides or {}).items():
        sources = replace_function(sources, name, source)
    return load_in_process(sources)


def failures(results: dict[str, tuple]) -> dict[str, str]:
    return {grade_id: message for grade_id, (ok, _, _, message) in results.items() if not ok}


def cheap_cells() -> set[str]:
    return set(graded_cells(ASSIGNMENT)) - LEARNING


def test_every_contract_name_has_an_answer_cell_and_the_cells_carry_the_points():
    names = {filename for filename, _ in solution_sources(ASSIGNMENT)}
    for name in checks.CONTRACT:
        assert f"<cell answer_{name}>" in names
    nb = read_notebook(source_notebook(ASSIGNMENT))
    points = [c.metadata["nbgrader"]["points"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(points) == 11 and sum(points) == TOTAL_POINTS
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_instructor_solution_passes_every_quick_graded_cell_in_process():
    results = run_cells(ASSIGNMENT, solution_namespace(), checks.CONTRACT, only=cheap_cells())
    assert failures(results) == {}
    assert all(output.strip().splitlines()[-1].startswith("PASSED") for _, output, _, _ in results.values())


def test_the_corpus_is_large_enough():
    assert len([m for m in MUTANTS if not m.slow]) >= 10
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert len(ALTERNATIVES) >= 1


def assert_mutant_fails(mutant) -> None:
    namespace = solution_namespace({mutant.function: mutant.source})
    results = run_cells(ASSIGNMENT, namespace, checks.CONTRACT, only=set(mutant.must_fail))
    assert set(results) == set(mutant.must_fail), "a targeted cell does not exist"
    survived = [grade_id for grade_id, (ok, *_rest) in results.items() if ok]
    assert survived == [], f"{mutant.name} kept the points of {survived}"
    for _, _, error_name, message in results.values():
        assert error_name == "CheckFailure", message
        for part in ("Property failed:", "Input:", "Expected:", "Got:", "Hint:"):
            assert part in message


@pytest.mark.parametrize("mutant", [m for m in MUTANTS if not m.slow], ids=lambda m: m.name)
def test_mutant_loses_the_points_of_the_check_that_targets_it(mutant):
    assert_mutant_fails(mutant)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [m for m in MUTANTS if m.slow], ids=lambda m: m.name)
def test_training_mutant_fails_the_learning_checks(mutant):
    assert_mutant_fails(mutant)


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_alternative_correct_solution_passes_the_quick_checks(name):
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT, only=cheap_cells())
    assert failures(results) == {}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_alternative_correct_solution_keeps_full_marks_including_learning(name):
    results = run_cells(ASSIGNMENT, solution_namespace(ALTERNATIVES[name]), checks.CONTRACT, only=LEARNING)
    assert failures(results) == {}


def test_same_submission_graded_twice_through_the_sandbox_gets_the_same_verdict():
    """A partly wrong submission (a wrong Gaussian policy, no training loop), graded twice: same per-cell
    results and messages, and some but not all points."""
    nb = read_notebook(source_notebook(ASSIGNMENT))
    buggy = {m.name: m for m in MUTANTS}["gaussian_log_std_not_a_parameter"]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "answer_GaussianPolicy":
            cell.source = buggy.source
        if grade_id == "answer_train_reinforce":
            cell.source = "def train_reinforce(env, total_steps, config, seed):\n    raise NotImplementedError()\n"
    first = grade_notebook(nb, ASSIGNMENT)
    second = grade_notebook(nb, ASSIGNMENT)
    summary = [(c.grade_id, c.passed, c.error_message) for c in first.cells]
    assert summary == [(c.grade_id, c.passed, c.error_message) for c in second.cells]
    failed = {c.grade_id for c in first.cells if not c.passed}
    assert failed == {"gaussian_gradients", "train_reinforce_interface", "reinforce_cartpole",
                      "reinforce_point_reach"}
    assert first.points == TOTAL_POINTS - 4 - 2 - 6 - 5


def test_failure_message_names_property_input_expected_got_and_hint():
    bug = {m.name: m for m in MUTANTS}["loss_returns_broadcast_to_a_matrix"]
    namespace = solution_namespace({bug.function: bug.source})
    with pytest.raises(CheckFailure) as failure:
        checks.check_reinforce_loss_gradient(namespace["CategoricalPolicy"], namespace["reinforce_loss"])
    assert "REINFORCE estimate" in failure.value.prop
    assert "returns=" in failure.value.falsifying_input
    assert "(N, 1) * (N,) broadcast" in failure.value.hint


def test_gradient_check_names_a_flipped_sign():
    bug = {m.name: m for m in MUTANTS}["loss_gradient_ascent_sign_flipped"]
    namespace = solution_namespace({bug.function: bug.source})
    with pytest.raises(CheckFailure) as failure:
        checks.check_reinforce_loss_gradient(namespace["CategoricalPolicy"], namespace["reinforce_loss"])
    assert "sign is flipped" in failure.value.hint


def test_point_reach_passes_gymnasiums_env_checker_and_is_deterministic():
    from gymnasium.utils.env_checker import check_env

    check_env(PointReachEnv(), skip_render_check=True)
    env = gym.make(POINT_REACH_ID)
    assert env.spec.max_episode_steps == 50

    def rollout():
        obs, _ = env.reset(seed=7)
        trace = []
        for _ in range(50):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample() * 0 + 0.3)
            trace.append((obs.copy(), reward))
        return trace, terminated, truncated

    first, second = rollout(), rollout()
    assert all(np.array_equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(first[0], second[0], strict=True))
    assert first[1:] == (False, True)


def test_point_reach_optimal_action_beats_every_perturbed_action():
    """optimal_action is greedy-optimal per step, and the per-step optimum is globally optimal (each
    coordinate's distance shrinks as fast as possible): random perturbations never do better."""
    env = gym.make(POINT_REACH_ID)
    rng = np.random.default_rng(0)

    def run(noise: float, seed: int) -> float:
        obs, _ = env.reset(seed=seed)
        total = 0.0
        for _ in range(50):
            action = np.clip(optimal_action(obs) + noise * rng.normal(size=2), -1, 1).astype(np.float32)
            obs, reward, *_ = env.step(action)
            total += reward
        return total

    for seed in range(20):
        best = run(0.0, seed)
        assert all(run(noise, seed) <= best + 1e-6 for noise in (0.05, 0.3, 1.0))


def test_reference_figures_of_point_reach():
    optimum, still = checks.reach_reference()
    assert -6.5 < optimum < -4.5 and -60 < still < -45


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_learning_thresholds_are_met_by_the_solution_on_other_seeds(seed, monkeypatch):
    """The thresholds are honest: the reference clears them on other seeds too (measured: see the report)."""
    torch.set_num_threads(1)
    monkeypatch.setattr(checks, "GRADING_SEED", seed)
    results = run_cells(ASSIGNMENT, solution_namespace(), checks.CONTRACT, only=LEARNING)
    assert failures(results) == {}


@pytest.mark.slow
def test_instructor_solution_gets_full_marks_through_the_sandbox():
    verdict = grade_notebook(read_notebook(source_notebook(ASSIGNMENT)), ASSIGNMENT)
    assert verdict.load_errors == []
    assert [c.grade_id for c in verdict.cells if not c.passed] == []
    assert verdict.points == verdict.max_points == TOTAL_POINTS
