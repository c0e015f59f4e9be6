"""Tests of the contextual recommendation environment, its logging policy and logs, and the position-based click
model on the ranking data."""

import gymnasium as gym
import numpy as np
import pytest

import rlir.envs  # noqa: F401  (registers the ids)
from rlir.envs.click_model import (
    attractiveness,
    examination_probabilities,
    expected_clicks,
    production_scores,
    simulate_clicks,
)
from rlir.envs.contextual import ContextualRecommendationEnv
from rlir.envs.ranking import make_splits
from rlir.ir_metrics import rank_by_scores
from tests.test_envs_ranking import checker_warnings

ENV_ID = "rlir/ContextualRecommendation-v0"


def test_check_env_passes_without_warnings():
    env = gym.make(ENV_ID)
    assert checker_warnings(env.unwrapped) == []
    assert checker_warnings(env) == []


def test_registered_defaults_spaces_and_one_step_episodes():
    env = gym.make(ENV_ID)
    assert isinstance(env.unwrapped, ContextualRecommendationEnv)
    assert env.action_space == gym.spaces.Discrete(10)
    obs, info = env.reset(seed=0)
    assert obs.shape == (5,) and obs.dtype == np.float32 and env.observation_space.contains(obs)
    assert np.isclose(obs.sum(), 1.0, atol=1e-6)
    assert np.allclose(obs, env.unwrapped.contexts[info["context"]])
    _, reward, terminated, truncated, step_info = env.step(3)
    assert reward in (0.0, 1.0) and terminated and not truncated and step_info["context"] == info["context"]
    with pytest.raises(gym.error.ResetNeeded):
        env.unwrapped.step(3)
    with pytest.raises(ValueError):
        env.reset()
        env.unwrapped.step(10)


def test_expected_rewards_are_linear_in_the_context_and_bounded():
    world = gym.make(ENV_ID).unwrapped
    assert np.allclose(world.expected_rewards, world.contexts @ world.theta.T)
    assert world.expected_rewards.min() >= 0.05 - 1e-12 and world.expected_rewards.max() <= 0.9 + 1e-12


def test_step_rewards_have_the_expected_mean():
    """Clicks of one (user, item) pair over many episodes match mu within 5 standard errors."""
    env = gym.make(ENV_ID)
    world = env.unwrapped
    env.reset(seed=1)
    rewards = []
    for _ in range(4000):
        env.reset(options={"context": 7})
        rewards.append(env.step(2)[1])
    mu = world.expected_rewards[7, 2]
    assert abs(np.mean(rewards) - mu) < 5 * np.sqrt(mu * (1 - mu) / 4000)


def test_logging_policy_is_a_positive_distribution_and_values_are_exact():
    world = gym.make(ENV_ID).unwrapped
    probs = world.logging_probs()
    assert probs.shape == (100, 10) and np.all(probs > 0) and np.allclose(probs.sum(axis=1), 1.0)
    best = np.eye(10)[world.expected_rewards.argmax(axis=1)]
    assert world.policy_value(best) == pytest.approx(world.optimal_value())
    assert world.policy_value(np.full((100, 10), 0.1)) == pytest.approx(world.expected_rewards.mean())
    assert world.policy_value(np.full((100, 10), 0.1)) < world.policy_value(probs) < world.optimal_value()


def test_collect_log_is_seeded_and_follows_the_policy():
    world = gym.make(ENV_ID).unwrapped
    log = world.collect_log(50_000, seed=3)
    again = world.collect_log(50_000, seed=3)
    assert all(np.array_equal(log[k], again[k]) for k in log)
    probs = world.logging_probs()
    assert np.allclose(log["propensity"], probs[log["context"], log["action"]])
    assert np.allclose(log["features"], world.contexts[log["context"]])
    # the mean reward estimates the logging policy's value; the action frequencies its marginal
    assert abs(log["reward"].mean() - world.policy_value(probs)) < 5 * 0.5 / np.sqrt(50_000)
    marginal = probs.mean(axis=0)
    freq = np.bincount(log["action"], minlength=10) / 50_000
    assert np.all(np.abs(freq - marginal) < 5 * np.sqrt(marginal / 50_000) + 1e-3)
    uniform = world.collect_log(1000, seed=4, probs=np.full((100, 10), 0.1))
    assert np.allclose(uniform["propensity"], 0.1)


def test_click_model_probabilities_and_production_ranking():
    train, _ = make_splits()
    exam = examination_probabilities(20)
    assert exam[0] == 1.0 and np.all(np.diff(exam) < 0) and exam[-1] == pytest.approx(1 / 20)
    assert attractiveness(np.array([0, 4])).tolist() == [0.0, 1.0]
    log = simulate_clicks(train, 3000, seed=0)
    assert log["ranking"].shape == log["clicks"].shape == (3000, 20)
    assert np.array_equal(log["ranking"], rank_by_scores(production_scores(train)[log["query"]]))
    assert all(sorted(row) == list(range(20)) for row in log["ranking"][:50])
    again = simulate_clicks(train, 3000, seed=0)
    assert all(np.array_equal(log[k], again[k]) for k in log)


def test_clicks_follow_the_position_based_model():
    """Per position, the click rate matches examination x attractiveness of what was shown (5 standard errors),
    and dividing by the examination propensity recovers the attractiveness."""
    train, _ = make_splits()
    log = simulate_clicks(train, 40_000, seed=1)
    p = expected_clicks(train, log["ranking"], log["query"])
    observed, expected = log["clicks"].mean(axis=0), p.mean(axis=0)
    se = np.sqrt((p * (1 - p)).mean(axis=0) / 40_000)
    assert np.all(np.abs(observed - expected) < 5 * se + 1e-4)
    exam = examination_probabilities(20)
    shown = np.take_along_axis(attractiveness(train.labels)[log["query"]], log["ranking"], axis=1).mean(axis=0)
    assert np.all(np.abs(observed / exam - shown) < 5 * se / exam + 1e-3)
    assert observed[0] > observed[-1] * 3  # the position bias the assignment corrects
