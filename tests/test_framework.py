"""The property harness of autograder.toolkit.framework: explicit examples."""

from __future__ import annotations

from hypothesis import strategies as st

from autograder.toolkit.framework import for_all


def test_explicit_examples_run_first_and_leave_the_drawn_ones_unchanged():
    """Explicit examples run first; the derandomized draw after them is the one without explicit examples."""
    plain, explicit = [], []
    for_all(st.integers(0, 100), plain.append, max_examples=5)
    for_all(st.integers(0, 100), explicit.append, max_examples=5, examples=(-1, -2))
    assert explicit == [-1, -2, *plain]
