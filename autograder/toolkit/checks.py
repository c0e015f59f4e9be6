"""The decorator that turns a property test into a graded check, shared by every assignment module."""

from __future__ import annotations

import contextvars
import functools
import os
from collections.abc import Callable
from typing import Any

from autograder.toolkit.framework import passed

# Set while the trusted grader (outside the student's kernel) runs a test cell.
_JUDGING = contextvars.ContextVar("rlir_judging", default=False)
# The figures (base64 PNG) the checks of the test cell being judged attach to its feedback.
_FIGURES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("rlir_figures", default=None)


def deferred_to_trusted_grader() -> bool:
    """True inside a student's kernel during ``nbgrader autograde`` when our trusted grader is configured.

    The trusted grader re-runs every graded cell outside the kernel and overwrites its outputs, so running
    the check in the kernel too would only cost time. Setting these variables in the kernel cannot earn
    points: the kernel's outputs for graded cells are thrown away either way."""
    return (not _JUDGING.get() and os.environ.get("NBGRADER_EXECUTION") == "autograde"
            and os.environ.get("RLIR_TRUSTED_GRADER") == "1")


def check(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a function as a graded check called ``name``: it prints ``PASSED name`` or raises."""

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(function)
        def run(*student_objects: Any) -> None:
            if deferred_to_trusted_grader():
                print(f"DEFERRED {name}: judged by the trusted grader outside this notebook")
                return
            detail = function(*student_objects)
            passed(name, detail or "")

        run.check_name = name  # type: ignore[attr-defined]
        return run

    return decorate


def learning_curve(returns: Any, *, reference: float, reference_label: str, xlabel: str = "episode",
                   window: int = 100, ylabel: str = "return", label: str | None = None) -> None:
    """Attach the student's learning curve (smoothed returns against the check's threshold) to the feedback
    of the test cell being judged; in a notebook, show it. A figure never changes a verdict."""
    figures = _FIGURES.get()
    if figures is None and not _in_notebook():
        return
    png = _curve_png(returns, reference, reference_label, xlabel, window, ylabel, label)
    if png is None:
        return
    if figures is not None:
        import base64

        figures.append(base64.b64encode(png).decode("ascii"))
    else:
        from IPython.display import Image, display

        display(Image(png))


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _curve_png(returns: Any, reference: float, reference_label: str, xlabel: str, window: int,
               ylabel: str = "return", label: str | None = None) -> bytes | None:
    """The curve as PNG bytes, or None when the student's returns cannot be plotted."""
    import io

    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: renders with Agg, whatever the backend

    from rlir.plotting import plot_learning_curve

    try:
        values = np.asarray(returns, dtype=float).ravel()
        figure = Figure(figsize=(6, 3))
        ax = figure.subplots()
        plot_learning_curve(values, window=max(1, min(window, len(values) // 5 or 1)), ax=ax,
                            reference=reference, reference_label=reference_label, label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
    except Exception:  # noqa: BLE001 - the student's returns may be unplottable; the verdict stands
        return None
    return buffer.getvalue()


class judging:
    """Context manager the trusted grader uses while it runs a test cell; ``figures`` collects the learning
    curves its checks attach."""

    def __init__(self, figures: list[str] | None = None) -> None:
        self._figures = figures

    def __enter__(self) -> judging:
        self._token = _JUDGING.set(True)
        self._figures_token = _FIGURES.set(self._figures)
        return self

    def __exit__(self, *exc: object) -> None:
        _FIGURES.reset(self._figures_token)
        _JUDGING.reset(self._token)
