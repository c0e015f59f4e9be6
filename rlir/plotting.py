"""Plots the notebooks share: learning curves, value heat maps and policies drawn as arrows."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from rlir.frozenlake import ACTION_ARROWS


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Mean of each run of up to ``window`` consecutive values ending at each index."""
    values = np.asarray(values, dtype=float)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def plot_learning_curve(returns: Sequence[float], window: int = 100, ax=None, label: str | None = None,
                        reference: float | None = None, reference_label: str = "optimum"):
    """Episode returns smoothed over ``window`` episodes, with an optional horizontal reference line."""
    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    ax.plot(moving_average(returns, window), label=label or f"mean return, last {window} episodes")
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", linewidth=1, label=reference_label)
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.legend(loc="lower right")
    return ax


def plot_value_heatmap(values: np.ndarray, tiles: np.ndarray, ax=None, title: str = "V(s)"):
    """State values on the lake's grid, each tile labelled with its letter and value."""
    ax = ax or plt.subplots(figsize=(4, 4))[1]
    grid = np.asarray(values, dtype=float).reshape(tiles.shape)
    image = ax.imshow(grid, cmap="viridis")
    for (row, col), value in np.ndenumerate(grid):
        ax.text(col, row, f"{tiles[row, col]}\n{value:.2f}", ha="center", va="center",
                color="white" if value < grid.max() / 2 else "black", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    plt.colorbar(image, ax=ax, fraction=0.046)
    return ax


def plot_policy_arrows(policy: np.ndarray, tiles: np.ndarray, ax=None, title: str = "greedy policy"):
    """A deterministic FrozenLake policy as arrows; holes and the goal show their letter."""
    ax = ax or plt.subplots(figsize=(4, 4))[1]
    colours = {"S": "#cfe8ff", "F": "#eef6ff", "H": "#3a6ea5", "G": "#ffd966"}
    rows, cols = tiles.shape
    policy = np.asarray(policy).reshape(tiles.shape)
    for row in range(rows):
        for col in range(cols):
            tile = tiles[row, col]
            ax.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, color=colours.get(tile, "white")))
            text = tile if tile in "HG" else ACTION_ARROWS[int(policy[row, col])]
            ax.text(col, row, text, ha="center", va="center", fontsize=18)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")
    ax.set_title(title)
    return ax
