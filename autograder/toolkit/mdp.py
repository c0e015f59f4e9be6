"""Small finite MDPs in Gymnasium's ``P[s][a] = [(prob, next_state, reward, terminated), ...]`` format, as the
checks of tabular methods and of advantages use them: drawn by hypothesis, and written out in failure messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from autograder.toolkit.framework import show


def draw_transitions(draw: Callable[[st.SearchStrategy], Any], n_states: int, n_actions: int,
                     max_reward: int) -> dict:
    """``P`` of a random MDP (inside a ``st.composite``): 1-3 outcomes per (state, action) with probabilities
    from integer weights, rewards in halves from -max_reward to max_reward, each outcome terminal or not."""
    P: dict = {}
    for state in range(n_states):
        P[state] = {}
        for action in range(n_actions):
            n_outcomes = draw(st.integers(1, 3))
            weights = draw(st.lists(st.integers(1, 4), min_size=n_outcomes, max_size=n_outcomes))
            P[state][action] = [(w / sum(weights), draw(st.integers(0, n_states - 1)),
                                 draw(st.integers(-2 * max_reward, 2 * max_reward)) / 2, draw(st.booleans()))
                                for w in weights]
    return P


def describe_mdp(P: dict, gamma: float, pi: np.ndarray | None = None) -> str:
    """The MDP (and the policy ``pi[s, a]``, if any) as the falsifying input of a failure message, one state a
    line."""
    head = f"gamma={gamma}" + ("" if pi is None else f", pi={show(np.round(pi, 4))}".replace("\n", " "))
    lines = [head + ", P = {"]
    for state, actions in P.items():
        lines.append(f"  {state}: {{" + ", ".join(f"{a}: {outs}" for a, outs in actions.items()) + "},")
    return "\n            ".join(lines) + "}"
