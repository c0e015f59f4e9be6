"""Tests of the MDPRank environment and its synthetic learning-to-rank data set."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import rlir.envs  # noqa: F401  (registers the ids)
from rlir.envs.ranking import (
    RankingDataset,
    RankingEnv,
    best_single_feature,
    make_ranking_dataset,
    make_splits,
    reference_scores,
    train_test_split,
)
from rlir.ir_metrics import ndcg_at_k, ndcg_of_scores

ENV_ID = "rlir/Ranking-v0"


@pytest.fixture(scope="module")
def splits():
    return make_splits()


def checker_warnings(env: gym.Env) -> list[str]:
    """Run gymnasium's check_env and return its warnings, minus the expected one about wrappers."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    return [str(w.message) for w in caught if "different from the unwrapped" not in str(w.message)]


@pytest.mark.parametrize("reward_mode", ["labels", "clicks"])
def test_check_env_passes_without_warnings(reward_mode):
    env = gym.make(ENV_ID, reward_mode=reward_mode)
    assert checker_warnings(env.unwrapped) == []
    assert checker_warnings(env) == []


def test_observations_share_no_memory_with_each_other_or_the_environment():
    """reset and each step return arrays of their own (Gymnasium's API: an observation is a value), so a
    caller who keeps or changes one changes nothing else."""
    env = gym.make(ENV_ID)
    first, _ = env.reset(seed=0)
    kept = {key: np.array(first[key]) for key in ("features", "mask")}
    second, *_ = env.step(0)
    third, *_ = env.step(1)
    for key in ("features", "mask"):
        arrays = [first[key], second[key], third[key]]
        assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:]), key
    first["features"][:] = 0.0
    assert np.array_equal(second["features"], kept["features"])
    fourth, *_ = env.step(2)
    assert np.array_equal(fourth["features"], kept["features"])
    assert env.observation_space.contains(fourth)


def test_registered_id_defaults_and_spaces():
    env = gym.make(ENV_ID)
    assert isinstance(env.unwrapped, RankingEnv)
    assert env.unwrapped.dataset.n_queries == 700 and env.unwrapped.k == 10
    assert gym.make(ENV_ID, split="test").unwrapped.dataset.n_queries == 300
    assert env.action_space == gym.spaces.Discrete(20)
    obs, info = env.reset(seed=0)
    assert obs["features"].shape == (20, 10) and obs["features"].dtype == np.float32
    assert obs["mask"].tolist() == [1] * 20 and obs["position"] == 0
    assert info["action_mask"].dtype == np.int8 and info["action_mask"].tolist() == [1] * 20
    obs, _, terminated, truncated, info = env.step(7)
    assert obs["mask"][7] == 0 and obs["mask"].sum() == 19 and obs["position"] == 1
    assert np.array_equal(info["action_mask"], obs["mask"]) and not terminated and not truncated


@pytest.mark.parametrize("k, steps", [(1, 1), (3, 3), (20, 20), (50, 20)])
def test_episode_lasts_min_k_n_steps(k, steps):
    env = RankingEnv(k=k)
    obs, _ = env.reset(seed=1)
    for t in range(steps):
        obs, _, terminated, _, info = env.step(int(np.flatnonzero(obs["mask"])[0]))
        assert terminated == (t == steps - 1)
    assert obs["position"] == steps and len(info["ranking"]) == steps
    with pytest.raises(gym.error.ResetNeeded):
        env.step(int(np.flatnonzero(obs["mask"])[0]) if obs["mask"].any() else 0)


def test_dataset_generator(splits):
    data = make_ranking_dataset(n_queries=2000, seed=5)
    assert data.features.shape == (2000, 20, 10) and data.features.dtype == np.float32
    assert data.labels.shape == (2000, 20) and data.labels.min() == 0 and data.labels.max() == 4
    freq = np.bincount(data.labels.ravel(), minlength=5) / data.labels.size
    assert freq == pytest.approx([0.50, 0.316, 0.129, 0.044, 0.011], abs=0.01)  # documented profile
    assert np.linalg.norm(data.w_star) == pytest.approx(1.0) and (data.w_star >= 0).all()
    again = make_ranking_dataset(n_queries=2000, seed=5)
    assert np.array_equal(data.features, again.features) and np.array_equal(data.labels, again.labels)
    assert not np.array_equal(data.labels, make_ranking_dataset(n_queries=2000, seed=6).labels)
    train, test = splits
    full = make_ranking_dataset()
    rows = {r.tobytes() for r in full.features}
    train_rows = {r.tobytes() for r in train.features}
    test_rows = {r.tobytes() for r in test.features}
    assert train_rows | test_rows == rows and not train_rows & test_rows
    assert np.array_equal(make_splits()[1].labels, test.labels)
    with pytest.raises(ValueError):
        train_test_split(full, test_fraction=1.0)
    with pytest.raises(ValueError):
        RankingDataset(full.features, full.labels + 1)  # grade 5 does not exist


def test_reference_scores_figures_and_ordering(splits):
    train, test = splits
    ref = reference_scores(splits, k=10)
    assert ref == pytest.approx({"random": 0.3834, "best_single_feature": 0.6500, "oracle": 0.9118}, abs=1e-3)
    assert ref["oracle"] > ref["best_single_feature"] + 0.1 > ref["random"] + 0.2
    j = best_single_feature(train)
    assert j == int(np.argmax(train.w_star))  # the feature with the largest hidden weight
    # the oracle beats every single feature and random scorers on test
    rng = np.random.default_rng(0)
    for scores in [test.features[:, :, i] for i in range(10)] + [rng.normal(size=test.labels.shape)]:
        assert ndcg_of_scores(scores, test.labels, 10).mean() < ref["oracle"]


def test_random_ranker_figure_matches_sampling(splits):
    _, test = splits
    rng = np.random.default_rng(1)
    samples = [ndcg_of_scores(rng.random(test.labels.shape), test.labels, 10).mean() for _ in range(50)]
    se = np.std(samples, ddof=1) / np.sqrt(len(samples))
    assert abs(np.mean(samples) - reference_scores(splits)["random"]) < 4 * se


def test_greedy_oracle_placement_in_the_env_achieves_the_oracle_ndcg(splits):
    _, test = splits
    env = RankingEnv(dataset=test, k=10)
    scores = test.oracle_scores()
    returns = []
    for q in range(test.n_queries):
        obs, _ = env.reset(options={"query": q})
        total, done = 0.0, False
        while not done:
            masked = np.where(obs["mask"] == 1, scores[q], -np.inf)
            obs, reward, done, _, info = env.step(int(np.argmax(masked)))
            total += reward
        assert total == pytest.approx(info["ndcg"], abs=1e-12)
        returns.append(total)
    np.testing.assert_allclose(returns, ndcg_of_scores(scores, test.labels, 10), atol=1e-12)
    assert np.mean(returns) == pytest.approx(reference_scores(splits)["oracle"], abs=1e-12)


@settings(derandomize=True, database=None, max_examples=60, deadline=None)
@given(st.integers(0, 699), st.permutations(list(range(20))), st.sampled_from([1, 5, 10, 20]))
def test_labels_mode_return_is_exactly_ndcg_at_k(query, permutation, k):
    env = RankingEnv(k=k)
    env.reset(options={"query": query})
    labels = env.dataset.labels[query]
    rewards = [env.step(doc)[1] for doc in permutation[:k]]
    assert all(r >= 0 for r in rewards)
    expected = ndcg_at_k(labels[permutation], k, ideal_relevances=labels)
    assert sum(rewards) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("query, k", [(0, 10), (1, 3)])
def test_clicks_mode_expected_return_is_ndcg_at_k(query, k):
    env = RankingEnv(reward_mode="clicks", k=k)
    labels = env.dataset.labels[query]
    ranking = np.random.default_rng(query).permutation(20)[:k]  # a fixed, mediocre ranking
    target = ndcg_at_k(labels[ranking], k, ideal_relevances=labels)
    env.reset(seed=2024)
    returns = []
    for _ in range(20000):
        env.reset(options={"query": query})
        returns.append(sum(env.step(int(doc))[1] for doc in ranking))
    mean, se = np.mean(returns), np.std(returns, ddof=1) / np.sqrt(len(returns))
    assert 0 < target < 1 and se < 0.05 * target
    assert abs(mean - target) < 4 * se


def test_clicks_only_on_relevant_documents_and_reward_scale():
    env = RankingEnv(reward_mode="clicks")
    env.reset(seed=3)
    n_clicks = 0
    for _ in range(50):
        _, info = env.reset()
        labels = env.dataset.labels[info["query"]]
        ideal = sorted(labels, reverse=True)[:10]
        idcg = sum((2.0**g - 1) / np.log2(i + 2) for i, g in enumerate(ideal))
        for doc in range(10):
            _, reward, _, _, info = env.step(doc)
            assert reward == 0.0 or reward == pytest.approx(15.0 / idcg, rel=1e-12)
            assert info["click"] == (reward > 0)
            n_clicks += info["click"]
            if labels[doc] == 0:
                assert not info["click"]
    assert n_clicks > 10


def test_query_without_relevant_document_gives_zero_reward_and_zero_ndcg(splits):
    train, _ = splits
    labels = train.labels[:2].copy()
    labels[1] = 0
    data = RankingDataset(train.features[:2], labels, train.w_star)
    for mode in ("labels", "clicks"):
        env = RankingEnv(dataset=data, reward_mode=mode, k=5)
        obs, _ = env.reset(seed=0, options={"query": 1})
        rewards = []
        for doc in range(5):
            obs, reward, terminated, _, info = env.step(doc)
            rewards.append(reward)
        assert rewards == [0.0] * 5 and terminated and info["ndcg"] == 0.0
    assert ndcg_of_scores(data.oracle_scores(), data.labels, 5)[1] == 0.0


def run(env: gym.Env, seed: int, n_episodes: int = 5) -> list:
    env.reset(seed=seed)
    out = []
    for _ in range(n_episodes):
        obs, info = env.reset()
        out.append(info["query"])
        rng = np.random.default_rng(0)
        done = False
        while not done:
            obs, reward, done, _, _ = env.step(int(rng.choice(np.flatnonzero(obs["mask"]))))
            out.append(reward)
    return out


@pytest.mark.parametrize("reward_mode", ["labels", "clicks"])
def test_same_seed_same_episodes_and_different_seed_differs(reward_mode):
    a, b, c = (run(gym.make(ENV_ID, reward_mode=reward_mode), seed) for seed in (7, 7, 8))
    assert a == b and a != c


@pytest.mark.parametrize("action", [1.0, np.float64(2), "3", None, True, [1]])
def test_wrong_action_type_raises_type_error(action):
    env = RankingEnv()
    env.reset(seed=0)
    with pytest.raises(TypeError, match=r"action must be an integer in \[0, 19\]"):
        env.step(action)


@pytest.mark.parametrize("action", [-1, 20, np.int64(25)])
def test_out_of_range_action_raises_value_error(action):
    env = RankingEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"Discrete\(20\)"):
        env.step(action)


def test_already_placed_document_raises_value_error_and_leaves_state_unchanged():
    env = RankingEnv()
    env.reset(seed=0)
    env.step(4)
    with pytest.raises(ValueError, match="action 4: document already placed at position 1"):
        env.step(np.int64(4))
    obs, _, _, _, _ = env.step(5)
    assert obs["position"] == 2 and obs["mask"][[4, 5]].tolist() == [0, 0]


def test_bad_constructor_and_reset_arguments():
    with pytest.raises(ValueError):
        RankingEnv(reward_mode="dwell")
    with pytest.raises(ValueError):
        RankingEnv(k=0)
    with pytest.raises(ValueError):
        RankingEnv(split="validation")
    env = RankingEnv()
    with pytest.raises(ValueError, match="query"):
        env.reset(options={"query": 700})
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)


def test_queries_restrict_the_episodes_to_those_queries():
    """``queries`` draws each episode's query from those indices only (the default, all, draws as before), and
    the restricted env passes Gymnasium's checker; an empty or out-of-range list is refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make("rlir/Ranking-v0", queries=[3, 7]).unwrapped, skip_render_check=True)
    env = gym.make("rlir/Ranking-v0", queries=[3, 7])
    seen = {env.reset(seed=seed)[1]["query"] for seed in range(40)}
    assert seen == {3, 7}
    everything, default = gym.make("rlir/Ranking-v0"), gym.make("rlir/Ranking-v0", queries=range(700))
    assert [everything.reset(seed=s)[1]["query"] for s in range(20)] == \
        [default.reset(seed=s)[1]["query"] for s in range(20)]
    for bad in ([], [700], [-1], [1.5]):
        with pytest.raises((ValueError, TypeError)):
            gym.make("rlir/Ranking-v0", queries=bad)
