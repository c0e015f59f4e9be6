"""The cells of a course notebook as grading sees them, and how long one may run: shared by the grader
(``autograder.grading.notebook``) and by the students' own ``python -m autograder.validate``, so that both run
a notebook by the same rules. Pure data and nbformat metadata; nothing here runs a cell."""

from __future__ import annotations

INSTALL_TAG = "rlir-install"  # the install cell: it sets up a student's own machine and is never run when graded
NOTEBOOK_CELL_TIMEOUT = 300.0  # one student cell (nbgrader's Execute.timeout); it is interrupted after that
NOTEBOOK_BUDGET_SECONDS = 900.0  # all student cells of one notebook (wall clock less their waits for a CPU)
# What the notebook's cells see while graded, besides the grader's own flags: nbgrader's, which shortens the
# teaching runs (``"NBGRADER_EXECUTION" in os.environ``).
TEACHING_RUNS_SHORTENED = {"NBGRADER_EXECUTION": "autograde"}


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_graded_test_cell(cell) -> bool:
    """A graded cell that is not an answer: the instructor's checks (and, in source/, hidden tests)."""
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_install_cell(cell) -> bool:
    return INSTALL_TAG in cell.get("metadata", {}).get("tags", ())


def grade_id(cell, index: int) -> str:
    """The cell's nbgrader id, else ``cell-<index>``."""
    return _nbgrader(cell).get("grade_id", f"cell-{index}")


def points(cell) -> float:
    return float(_nbgrader(cell).get("points", 0) or 0)


def python_source(cell_source: str) -> str:
    """Cell text with IPython syntax (``%magic``, ``!cmd``) turned into plain Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)
