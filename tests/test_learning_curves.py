"""Learning checks attach the student's learning curve to their cell's feedback; a curve never changes a
verdict."""

from __future__ import annotations

import base64

import numpy as np

from autograder.grading.nbgrader_plugin import verdict_outputs
from autograder.grading.notebook import CellVerdict
from autograder.toolkit.checks import judging, learning_curve


def test_a_curve_is_collected_as_png_while_judging():
    figures: list[str] = []
    with judging(figures):
        learning_curve(np.linspace(0, 1, 500), reference=0.744, reference_label="optimum")
    (figure,) = figures
    assert base64.b64decode(figure).startswith(b"\x89PNG")


def test_outside_the_grader_and_outside_a_notebook_nothing_happens():
    learning_curve(np.ones(10), reference=1.0, reference_label="optimum")  # no collector, no IPython: no-op


def test_unplottable_returns_attach_nothing_and_raise_nothing():
    figures: list[str] = []
    with judging(figures):
        learning_curve(["a", None], reference=1.0, reference_label="optimum")
    assert figures == []


def test_the_curve_is_a_cell_output_before_the_failure():
    verdict = CellVerdict("learns", 6, False, "", "CheckFailure", "too slow", figures=["aGk="])
    kinds = [output.output_type for output in verdict_outputs(verdict)]
    assert kinds == ["display_data", "error"]
    assert verdict_outputs(verdict)[0].data["image/png"] == "aGk="
