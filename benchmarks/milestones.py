"""When a learning run first reaches a return threshold and when it holds it: shared by the SB3 benchmarks.

A run is evaluated at fixed intervals of environment steps; the CPU seconds of training are the process time
since the start minus the time spent evaluating. "Holds" means the evaluation stayed at or above the
threshold for ``hold`` evaluations in a row (a single evaluation can be a lucky spike).
"""

from __future__ import annotations

import time

import numpy as np

Milestone = tuple[int, float]  # (environment steps, training CPU seconds)


class Milestones:
    """Record evaluations; remember when the threshold was first reached and when it was first held."""

    def __init__(self, threshold: float, hold: int = 3) -> None:
        self.threshold, self.hold = threshold, hold
        self.evals: list[float] = []
        self.first: Milestone | None = None
        self.held: Milestone | None = None
        self.start, self.eval_cpu = time.process_time(), 0.0

    def restart_clock(self) -> None:
        """Start counting training CPU time from now."""
        self.start, self.eval_cpu = time.process_time(), 0.0

    def record(self, steps: int, evaluate) -> bool:
        """Run ``evaluate()`` (a mean return) untimed and record it; True once the threshold is held."""
        begin = time.process_time()
        value = float(evaluate())
        self.eval_cpu += time.process_time() - begin
        self.evals.append(value)
        at = (int(steps), time.process_time() - self.start - self.eval_cpu)
        if self.first is None and value >= self.threshold:
            self.first = at
        if self.held is None and len(self.evals) >= self.hold and min(self.evals[-self.hold:]) >= self.threshold:
            self.held = at
        return self.held is not None


def show(at: Milestone | None) -> str:
    return "      never      " if at is None else f"{at[0]:>6} st {at[1]:6.1f} s"


def median(values: list[Milestone | None]) -> tuple[float, float]:
    """Median steps and CPU seconds over seeds; a run that never got there counts as infinitely slow."""
    steps = [v[0] if v else np.inf for v in values]
    cpu = [v[1] if v else np.inf for v in values]
    return float(np.median(steps)), float(np.median(cpu))


def summary(results: dict[str, list[Milestones]], threshold: float) -> list[str]:
    """Median milestones of "ours" and "sb3" and the ratios SB3 / ours (> 1: ours is faster)."""
    lines, hold = [], results["ours"][0].hold
    for label, attribute in ((f"first reaches {threshold:.0f}", "first"),
                             (f"holds {threshold:.0f} for {hold} evaluations", "held")):
        ours = median([getattr(m, attribute) for m in results["ours"]])
        sb3 = median([getattr(m, attribute) for m in results["sb3"]])
        lines.append(f"{label:>28}: median steps ours {ours[0]:.0f}, SB3 {sb3[0]:.0f} (ratio SB3/ours "
                     f"{sb3[0] / ours[0]:.2f}); median CPU s ours {ours[1]:.1f}, SB3 {sb3[1]:.1f} "
                     f"(ratio {sb3[1] / ours[1]:.2f})")
        reached = [sum(getattr(m, attribute) is not None for m in results[name]) for name in ("ours", "sb3")]
        lines.append(f"{'':>28}  runs that got there: ours {reached[0]}/{len(results['ours'])}, "
                     f"SB3 {reached[1]}/{len(results['sb3'])}")
    return lines


def quiet(model):
    """An SB3 model that logs nowhere: its default logger makes a /tmp/SB3-<date> folder for every run."""
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(folder=None, output_formats=[]))
    return model
