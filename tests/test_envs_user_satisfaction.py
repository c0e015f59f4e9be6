"""Tests of the long-term user satisfaction env and its exact dynamic-programming reference."""

import copy
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlir.envs  # noqa: F401  (registers the ids)
from rlir.envs.user_satisfaction import (
    UserSatisfactionConfig,
    UserSatisfactionEnv,
    baseline_returns,
    constant_item_returns,
    constant_policy,
    evaluate_policy,
    myopic_policy,
    optimal_value,
    planning_policy,
    random_policy,
)

ENV_ID = "rlir/UserSatisfaction-v0"


@pytest.fixture(scope="module")
def optimum():
    return optimal_value()


@pytest.fixture(scope="module")
def baselines():
    return baseline_returns()


def checker_warnings(env: gym.Env) -> list[str]:
    """Run gymnasium's check_env and return its warnings, minus the expected one about wrappers."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    return [str(w.message) for w in caught if "different from the unwrapped" not in str(w.message)]


def test_check_env_passes_without_warnings():
    env = gym.make(ENV_ID)
    assert checker_warnings(env.unwrapped) == []
    assert checker_warnings(env) == []
    assert checker_warnings(gym.make(ENV_ID, render_mode="ansi").unwrapped) == []


def test_registered_id_and_spaces():
    env = gym.make(ENV_ID, horizon=5)
    assert isinstance(env.unwrapped, UserSatisfactionEnv)
    assert env.action_space == gym.spaces.Discrete(11)
    assert env.observation_space == gym.spaces.Box(0.0, 1.0, (2,), np.float32)
    assert "ansi" in env.metadata["render_modes"]
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs[0] == pytest.approx(0.5) and obs[1] == 0.0
    for t in range(1, 6):
        obs, reward, terminated, truncated, _ = env.step(0)
        assert obs[1] == pytest.approx(t / 5) and not truncated
        assert terminated == (t == 5)


def test_first_step_follows_the_documented_dynamics():
    cfg = UserSatisfactionConfig()
    env = UserSatisfactionEnv()
    for seed, item in [(0, 0), (1, 7), (2, 10)]:
        env.reset(seed=seed)
        z = copy.deepcopy(env.np_random).normal(0.0, cfg.noise_std)  # the noise the env is about to draw
        obs, reward, *_ = env.step(item)
        kappa = item / 10
        assert reward == pytest.approx((8 * kappa + 3 * (1 - kappa)) * 0.5, rel=1e-12)  # s_0 = sigmoid(0)
        n1 = np.clip(0.9 * 0.0 - 2.0 * (kappa - 0.5) + z, -5, 5)
        assert obs[0] == pytest.approx(1 / (1 + np.exp(-2 * n1)), rel=1e-6)


def test_state_is_clipped_to_the_documented_range():
    env = UserSatisfactionEnv()
    env.reset(seed=0, options={"user_state": -5.0})
    floor = 1 / (1 + np.exp(10))  # satisfaction at n = -5
    sats = [env.step(10)[0][0] for _ in range(20)]  # clickbait pushes n towards -5.5 -> mostly clipped
    assert min(sats) >= floor * (1 - 1e-6)
    assert sum(s == pytest.approx(floor, rel=1e-6) for s in sats) >= 10
    with pytest.raises(ValueError, match="user_state"):
        env.reset(options={"user_state": 6.0})


def rollout(env: gym.Env, seed: int, actions: list[int]) -> list:
    obs, _ = env.reset(seed=seed)
    trajectory = [obs]
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(a)
        trajectory += [obs, reward, terminated]
    return trajectory


def test_same_seed_same_trajectory_and_different_seed_differs():
    actions = np.random.default_rng(0).integers(0, 11, size=60).tolist()
    run = [rollout(gym.make(ENV_ID), seed, actions) for seed in (3, 3, 4)]
    assert all(np.array_equal(x, y) for x, y in zip(run[0], run[1], strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(run[0], run[2], strict=True))


@pytest.mark.parametrize("action", [1.0, 2.5, np.float32(3), "3", None, True, [1], np.array([1])])
def test_wrong_action_type_raises_type_error(action):
    env = UserSatisfactionEnv()
    env.reset(seed=0)
    with pytest.raises(TypeError, match=r"action must be an integer in \[0, 10\]"):
        env.step(action)


@pytest.mark.parametrize("action", [-1, 11, np.int64(11), 10**9])
def test_out_of_range_action_raises_value_error(action):
    env = UserSatisfactionEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"Discrete\(11\)"):
        env.step(action)


def test_numpy_integer_actions_are_accepted_and_stepping_after_the_end_is_refused():
    env = UserSatisfactionEnv(horizon=2)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    env.step(np.int64(3))
    env.step(np.array(4))
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)


def test_dp_grid_refinement_changes_the_optimum_by_less_than_half_a_percent(optimum):
    coarse, _ = optimal_value(grid_size=201)
    fine, _ = optimal_value(grid_size=801)
    assert abs(coarse - fine) / fine < 0.005
    assert abs(optimum[0] - fine) / fine < 0.005


def test_dp_matches_independent_quadrature_for_two_steps():
    # V = max_a [ (3 + 5 k_a) s_0 + E 8 sigmoid(2 clip(m_a + 0.5 z)) ], the last step always plays kappa = 1.
    z = np.linspace(-9, 9, 20001)
    density = np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)
    for n0 in (0.0, 4.8, -3.3):  # 4.8: most of the next-state mass is clipped at 5
        cfg = UserSatisfactionConfig(horizon=2, initial_state=n0)
        kappas = np.linspace(0, 1, 11)
        s0 = 1 / (1 + np.exp(-2 * n0))
        values = []
        for k in kappas:
            n1 = np.clip(0.9 * n0 - 2 * (k - 0.5) + 0.5 * z, -5, 5)
            values.append((3 + 5 * k) * s0 + np.trapezoid(8 / (1 + np.exp(-2 * n1)) * density, z))
        value, policy = optimal_value(cfg)
        assert value == pytest.approx(max(values), rel=2e-4)
        assert (policy.table[1] == 10).all()


def test_dp_value_matches_monte_carlo_of_the_dp_policy(optimum):
    value, policy = optimum
    mean, se = evaluate_policy(policy, n_episodes=1000, seed=123)
    assert se < 0.005 * value
    assert abs(mean - value) < 4 * se


def test_dp_policy_structure(optimum):
    _, policy = optimum
    assert (policy.table[-1] == 10).all()  # last step: nothing to protect, take the clickbait
    low, high = policy.model.grid[0], policy.model.grid[-1]
    assert policy.act(0, low) == 0 and policy.act(0, high) == 10  # rebuild when low, harvest when high


def test_baseline_figures_and_ordering(optimum, baselines):
    assert baselines["optimal"] == pytest.approx(optimum[0])
    assert baselines == pytest.approx(
        {"optimal": 291.673, "best_constant": 260.551, "myopic": 5.793, "random": 165.0}, abs=0.01)
    assert baselines["optimal"] > 1.1 * baselines["best_constant"]
    assert baselines["best_constant"] > baselines["random"] > 20 * baselines["myopic"]
    constants = constant_item_returns()
    assert int(np.argmax(constants)) == 3 and constants[-1] == pytest.approx(baselines["myopic"])


def test_myopic_planner_is_clearly_worse_than_a_farsighted_one(baselines):
    myopic = planning_policy(gamma=0.0)
    assert (myopic.table == 10).all()
    assert myopic.expected_return == pytest.approx(baselines["myopic"])
    returns = [planning_policy(gamma=g).expected_return for g in (0.0, 0.5, 0.9, 0.99)]
    assert returns == sorted(returns)
    assert returns[-1] > 0.99 * baselines["optimal"] and returns[-1] > 40 * returns[0]


@pytest.mark.parametrize("name, policy", [
    ("best_constant", constant_policy(3)),
    ("myopic", myopic_policy),
    ("random", random_policy(seed=7)),
])
def test_exact_baselines_agree_with_monte_carlo_in_the_env(baselines, name, policy):
    mean, se = evaluate_policy(policy, n_episodes=400, seed=11)
    assert abs(mean - baselines[name]) < 4 * se
