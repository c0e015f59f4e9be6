"""Tests of rlir.ir_metrics: DCG/NDCG values, conventions and properties."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlir.ir_metrics import dcg_at_k, expected_random_ndcg, ndcg_at_k, ndcg_of_scores, rank_by_scores

PROPERTY = settings(derandomize=True, database=None, max_examples=100, deadline=None)
grades = st.lists(st.integers(0, 4), min_size=1, max_size=25)


def test_linear_gain_matches_the_textbook_example():
    # Wikipedia "Discounted cumulative gain" example: DCG6 = 6.861; with the ranked six documents only,
    # IDCG6 = 7.141 (NDCG6 = 0.961); with two more candidates of grades 3 and 2, IDCG6 = 8.740
    # (NDCG6 = 0.785).
    rel = [3, 2, 3, 0, 1, 2]
    assert dcg_at_k(rel, 6, gain="linear") == pytest.approx(6.861, abs=5e-4)
    assert ndcg_at_k(rel, 6, gain="linear") == pytest.approx(6.861 / 7.141, abs=5e-4)
    assert ndcg_at_k(rel, 6, ideal_relevances=rel + [3, 2], gain="linear") == pytest.approx(0.785, abs=5e-4)


def test_exponential_gain_and_log2_discount_by_hand():
    # (2^3 - 1)/log2(2) + (2^1 - 1)/log2(3) + 0 + (2^2 - 1)/log2(5)
    expected = 7.0 + 1.0 / np.log2(3) + 3.0 / np.log2(5)
    assert dcg_at_k([3, 1, 0, 2], 4) == pytest.approx(expected, rel=1e-12)
    assert dcg_at_k([3, 1, 0, 2], 2) == pytest.approx(7.0 + 1.0 / np.log2(3), rel=1e-12)
    assert dcg_at_k([3, 1], 10) == pytest.approx(7.0 + 1.0 / np.log2(3), rel=1e-12)  # short list


def test_no_relevant_document_convention_is_zero():
    assert ndcg_at_k([0, 0, 0], 3) == 0.0
    assert ndcg_at_k([0, 0], 2, ideal_relevances=[0, 0, 0, 0]) == 0.0
    assert ndcg_of_scores(np.array([[0.3, 0.1, 0.2]]), np.array([[0, 0, 0]]), 2).tolist() == [0.0]
    assert expected_random_ndcg(np.array([[0, 0, 0]]), 2).tolist() == [0.0]


def test_truncated_ranking_uses_the_ideal_of_all_candidates():
    # only 2 of 3 documents placed; the grade-4 document was left out
    assert ndcg_at_k([1, 0], 2, ideal_relevances=[1, 0, 4]) == pytest.approx(1.0 / (15.0 + 1.0 / np.log2(3)))


@PROPERTY
@given(grades, st.integers(1, 30), st.randoms(use_true_random=False))
def test_ndcg_in_unit_interval_and_ideal_is_one(rel, k, rnd):
    shuffled = list(rel)
    rnd.shuffle(shuffled)
    value = ndcg_at_k(shuffled, k)
    assert 0.0 <= value <= 1.0 + 1e-12
    ideal = ndcg_at_k(sorted(rel, reverse=True), k)
    if any(rel):
        assert ideal == pytest.approx(1.0, rel=1e-12)
        assert value <= ideal + 1e-12
    else:
        assert ideal == 0.0 and value == 0.0


@PROPERTY
@given(grades, st.data())
def test_promoting_a_more_relevant_document_never_lowers_dcg(rel, data):
    i = data.draw(st.integers(0, len(rel) - 1))
    j = data.draw(st.integers(0, len(rel) - 1))
    i, j = min(i, j), max(i, j)
    swapped = list(rel)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    k = len(rel)
    if rel[j] > rel[i]:  # the swap moves the better document up
        assert dcg_at_k(swapped, k) > dcg_at_k(rel, k)


@PROPERTY
@given(st.integers(1, 6), st.integers(1, 12), st.integers(1, 15), st.integers(0, 2**31 - 1))
def test_ndcg_of_scores_matches_per_query_ndcg(n_queries, n_docs, k, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, size=(n_queries, n_docs))
    scores = rng.integers(0, 4, size=(n_queries, n_docs)).astype(float)  # many ties
    batch = ndcg_of_scores(scores, labels, k)
    assert batch.shape == (n_queries,)
    for q in range(n_queries):
        # descending score, ties by smaller index: sort key (-score, index)
        order = sorted(range(n_docs), key=lambda d: (-scores[q, d], d))
        expected = ndcg_at_k(labels[q, order], k, ideal_relevances=labels[q])
        assert batch[q] == pytest.approx(expected, abs=1e-12)
        assert 0.0 <= batch[q] <= 1.0 + 1e-12


def test_ties_are_broken_by_index():
    assert rank_by_scores(np.array([1.0, 2.0, 2.0, 1.0, 3.0])).tolist() == [4, 1, 2, 0, 3]
    labels = np.array([0, 1, 2, 3])
    # all scores equal -> ranking 0, 1, 2, 3
    assert float(ndcg_of_scores(np.zeros(4), labels, 4)) == pytest.approx(ndcg_at_k(labels, 4))
    assert float(ndcg_of_scores(np.zeros(4), labels, 4)) < 1.0


def test_expected_random_ndcg_is_exact_average_over_permutations():
    labels = np.array([[0, 1, 4, 2, 0], [3, 0, 0, 1, 1]])
    for k in (1, 3, 5, 7):
        brute = [np.mean([ndcg_at_k(row[list(p)], k, ideal_relevances=row)
                          for p in itertools.permutations(range(5))]) for row in labels]
        assert expected_random_ndcg(labels, k) == pytest.approx(brute, rel=1e-12)


@pytest.mark.parametrize("call", [
    lambda: dcg_at_k([1, 2], 0),
    lambda: dcg_at_k([1, -1], 2),
    lambda: dcg_at_k([1, 2], 2, gain="cubic"),
    lambda: ndcg_of_scores(np.array([1.0, np.nan]), np.array([0, 1]), 2),
    lambda: ndcg_of_scores(np.zeros(3), np.zeros(4, dtype=int), 2),
])
def test_invalid_input_raises(call):
    with pytest.raises(ValueError):
        call()
