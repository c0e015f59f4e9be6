"""Grade a notebook outside the student's kernel, with the notebook's own semantics.

Every code cell the student can see runs in a :class:`~autograder.sandbox.Sandbox`, in notebook order, as in
their Jupyter: answer cells, cells they added, teaching cells as they left them, the read-only setup cells.
Only the graded test cells do not run there: each of them runs here, in the grader's own process, with every
name of the assignment's public contract bound to a proxy of the student's object. Test cells come from the
instructor's version (nbgrader restores them before this runs), so neither their code nor the checks they call
can be changed by the student, and what the student's cells did to numpy or to the checks stays in the sandbox.
The outputs of that one run are the notebook's outputs (what feedback shows).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import time
import traceback
from dataclasses import dataclass, field
from types import ModuleType

import nbformat

from autograder.assignments import assignment
from autograder.sandbox import Budget, MachineBusy, Sandbox
from autograder.sandbox.policy import DEFAULT_LIMITS, Limits
from autograder.toolkit.cells import (  # noqa: F401 - re-exported: the grading side imports them from here
    INSTALL_TAG,
    NOTEBOOK_BUDGET_SECONDS,
    NOTEBOOK_CELL_TIMEOUT,
    TEACHING_RUNS_SHORTENED,
    is_graded_test_cell,
    is_install_cell,
    python_source,
)
from autograder.toolkit.checks import judging
from autograder.toolkit.framework import CheckFailure

# The defaults of grading's time budgets; a course sets its own in nbgrader_config.py (``c.GradeInSandbox``).
# The checks' budgets are CPU seconds of the student's code (see autograder/sandbox/meter.py: the same on a
# loaded machine; sleeping code stops after twice that, and the machine's failure is reported as such).
CELL_BUDGET_SECONDS = 300.0  # one graded cell's checks
SUBMISSION_BUDGET_SECONDS = 1200.0  # all graded cells of one notebook
# What the student's cells see while graded: nbgrader's flag (teaching cells shorten their runs), and the
# checks' flag that defers a check called from a student cell to the trusted grader (no wasted run).
GRADING_ENV = {**TEACHING_RUNS_SHORTENED, "RLIR_TRUSTED_GRADER": "1",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


@dataclass
class Failure:
    """A failed property as the check reported it (a :class:`CheckFailure`'s fields), kept as data."""

    prop: str
    falsifying_input: str
    expected: str
    got: str
    hint: str
    fatal: bool = False  # the student's process hung or died: the property could not be judged

    @classmethod
    def of(cls, failure: CheckFailure) -> Failure:
        return cls(failure.prop, failure.falsifying_input, failure.expected, failure.got, failure.hint,
                   bool(getattr(failure, "fatal", False)))


@dataclass
class CellOutcome:
    """What running one test cell gave; unpacks as ``(passed, output, error name, message)``."""

    passed: bool
    output: str = ""
    error_name: str = ""
    message: str = ""
    failure: Failure | None = None  # the structured failure, when a check raised a CheckFailure

    def __iter__(self):
        return iter((self.passed, self.output, self.error_name, self.message))


@dataclass
class CellVerdict:
    """The outcome of one graded test cell."""

    grade_id: str
    max_points: float
    passed: bool
    output: str = ""
    error_name: str = ""
    error_message: str = ""
    figures: list[str] = field(default_factory=list)  # base64 PNG learning curves, shown in the feedback
    failure: Failure | None = None  # the property, input, expected, got and hint of a CheckFailure
    reused: bool = False  # judged in an earlier run of the same submission with the same check (not rerun)

    @property
    def points(self) -> float:
        return self.max_points if self.passed else 0.0


@dataclass
class NotebookVerdict:
    """Every graded cell's outcome, plus what happened when the student's cells ran."""

    assignment: str
    cells: list[CellVerdict] = field(default_factory=list)
    load_errors: list[str] = field(default_factory=list)
    cell_outputs: dict[int, list[dict]] = field(default_factory=dict)  # notebook cell index -> its outputs
    seconds: dict[str, float] = field(default_factory=dict)  # "cells" and each graded cell's id -> wall seconds
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # graded cell's id -> CPU seconds of student code

    @property
    def points(self) -> float:
        return sum(cell.points for cell in self.cells)

    @property
    def max_points(self) -> float:
        return sum(cell.max_points for cell in self.cells)


def assignment_id(name: str) -> str:
    """``01_tabular_q_learning`` -> ``tabular_q_learning``; raise for a folder that is no assignment."""
    return assignment(name).id


def assignment_module(name: str) -> ModuleType:
    """The checks module of an assignment."""
    return assignment(name).module()


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_answer_cell(cell) -> bool:
    return cell.cell_type == "code" and bool(_nbgrader(cell).get("solution"))


def is_setup_cell(cell) -> bool:
    """A read-only instructor cell that is not a test (e.g. the imports); nbgrader restores its source."""
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("locked")) and not meta.get("grade") \
        and not meta.get("solution")


def answer_sources(nb) -> list[tuple[str, str]]:
    """(filename, python source) of every setup and answer cell, in notebook order: what the sandbox runs."""
    sources = []
    for index, cell in enumerate(nb.cells):
        if is_answer_cell(cell) or is_setup_cell(cell):
            name = _nbgrader(cell).get("grade_id", f"cell-{index}")
            try:
                source = python_source(cell.source)
            except Exception:  # noqa: BLE001 - a broken cell is the student's; keep it verbatim
                source = cell.source
            sources.append((f"<cell {name}>", source))
    return sources


def notebook_cells(nb) -> list[tuple[int, str, str]]:
    """(index, filename, source) of every code cell that runs when grading, in notebook order: all of them
    but the graded test cells (judged outside, from the instructor's copy) and the install cell."""
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_graded_test_cell(cell) or is_install_cell(cell):
            continue
        name = _nbgrader(cell).get("grade_id", f"cell-{index}")
        cells.append((index, f"<cell {name}>", cell.source))
    return cells


def run_test_cell(source: str, student_objects: dict, figures: list[str] | None = None) -> CellOutcome:
    """Run one test cell in a fresh namespace holding only ``student_objects`` (proxies when grading);
    return its outcome (unpacks as passed, stdout, error name, message; a CheckFailure's fields are kept in
    ``failure``). Learning curves the checks attach go to ``figures``."""
    namespace = {"__builtins__": builtins, "__name__": "__rlir_grader__", **student_objects}
    stdout = io.StringIO()
    try:
        code = compile(python_source(source), "<graded cell>", "exec")
        with judging(figures), contextlib.redirect_stdout(stdout):
            exec(code, namespace)  # noqa: S102 - the instructor's test cell, restored by nbgrader
    except MachineBusy:
        raise  # the grader's failure, never a verdict on the student's code
    except CheckFailure as failure:
        return CellOutcome(False, stdout.getvalue(), "CheckFailure", str(failure), Failure.of(failure))
    except AssertionError as failure:
        return CellOutcome(False, stdout.getvalue(), "AssertionError", str(failure) or "a hidden test failed")
    except Exception as error:  # noqa: BLE001 - reported as this cell's failure, never the batch's
        frames = traceback.extract_tb(error.__traceback__)
        where = "the grader" if any("autograder" in f.filename for f in frames[-1:]) else "this test"
        return CellOutcome(False, stdout.getvalue(), type(error).__name__, f"{error} (raised in {where})")
    return CellOutcome(True, stdout.getvalue())


def _judge(sandbox: Sandbox, source: str, contract, figures: list[str], check: Budget,
           whole: Budget) -> CellOutcome:
    """Run one graded cell against the student's objects within its budget; when the machine, not the student's
    code, ran out of time, run it once more in a fresh worker, and if that happens again, raise
    :class:`MachineBusy` (grading fails; the student gets no verdict rather than a wrong 0)."""
    for attempt in range(2):
        sandbox.ensure_ready()
        sandbox.set_budgets(Budget(check.cpu_seconds, check.what), whole)
        figures.clear()
        try:
            return run_test_cell(source, {name: sandbox.function(name) for name in contract}, figures)
        except MachineBusy:
            if attempt:
                raise
    raise AssertionError("unreachable")


def test_positions(nb, cells: list[tuple[int, str, str]]) -> dict[str, int]:
    """grade id -> how many of ``cells`` come before that graded cell in ``nb``: the state it is judged on."""
    runnable = {index for index, _, _ in cells}
    positions, count = {}, 0
    for index, cell in enumerate(nb.cells):
        if index in runnable:
            count += 1
        elif is_graded_test_cell(cell):
            positions.setdefault(_nbgrader(cell).get("grade_id", "?"), count)
    return positions


def grade_notebook(nb, assignment: str, *, test_cells_from=None,
                   submission_budget: float = SUBMISSION_BUDGET_SECONDS, only=None,
                   files: dict[str, bytes] | None = None, cell_timeout: float = NOTEBOOK_CELL_TIMEOUT,
                   notebook_budget: float = NOTEBOOK_BUDGET_SECONDS, cell_budget: float = CELL_BUDGET_SECONDS,
                   limits: Limits = DEFAULT_LIMITS, all_cells: bool | None = None, label: str = "") -> NotebookVerdict:
    """Run ``nb``'s cells once, in order, in a sandbox, and judge each graded test cell of ``nb`` (or of
    ``test_cells_from``, the trusted copy) where it stands: on what the cells above it defined, as running the
    notebook top to bottom would. A graded cell missing from ``nb`` is judged after the last cell. ``only``
    limits grading to those grade ids (and, unless ``all_cells``, the run to the cells they need); ``files``
    (relative path -> bytes) are put beside the notebook. The budgets (the checks': CPU seconds of the student's
    code; the cells': wall seconds) and the worker's ``limits`` default to this module's constants and the
    sandbox's. ``label`` names the work in the worker's command line (``student/assignment``)."""
    module = assignment_module(assignment)
    trusted = test_cells_from if test_cells_from is not None else nb
    verdict = NotebookVerdict(assignment_id(assignment))
    cells = notebook_cells(nb)
    positions = test_positions(nb, cells)
    tests = [cell for cell in trusted.cells if is_graded_test_cell(cell)
             and (only is None or _nbgrader(cell).get("grade_id") in only)]
    tests.sort(key=lambda cell: positions.get(_nbgrader(cell).get("grade_id"), len(cells)))  # stable
    options = {**getattr(module, "SANDBOX_OPTIONS", {})}
    options["load_timeout"] = max(options.get("load_timeout", 0.0), notebook_budget)
    with Sandbox([(filename, source) for _, filename, source in cells], notebook=True, cell_timeout=cell_timeout,
                 files=files, extra_env=GRADING_ENV, shared_runs=getattr(module, "SHARED_RUNS", ()), limits=limits,
                 label=label, **options) as sandbox:
        whole = Budget(submission_budget, "all the checks of this notebook")
        for cell in tests:
            meta = _nbgrader(cell)
            result = CellVerdict(meta.get("grade_id", "?"), float(meta.get("points", 0)), False)
            sandbox.run_until(positions.get(result.grade_id, len(cells)))
            started, spent = time.monotonic(), whole.spent.cpu
            if whole.overrun() == "machine":
                raise MachineBusy("busy", whole.describe("machine"))
            if whole.overrun():
                result.error_name, result.error_message = "TimeBudgetExceeded", (
                    f"your code used more than {submission_budget:.0f} CPU seconds in all the checks of this "
                    "notebook; the remaining checks were not run")
            else:
                sandbox.current_check = result.grade_id
                outcome = _judge(sandbox, cell.source, module.CONTRACT, result.figures,
                                 Budget(cell_budget, "this check"), whole)
                result.passed, result.output, result.error_name, result.error_message, result.failure = (
                    outcome.passed, outcome.output, outcome.error_name, outcome.message, outcome.failure)
            verdict.seconds[result.grade_id] = time.monotonic() - started
            verdict.cpu_seconds[result.grade_id] = whole.spent.cpu - spent
            verdict.cells.append(result)
        sandbox.set_budgets()
        if only is None if all_cells is None else all_cells:
            sandbox.run_until(len(cells))  # the cells after the last graded one, for their outputs
        verdict.seconds["cells"] = sandbox.cell_seconds
        verdict.cell_outputs = {cells[i][0]: outputs for i, outputs in sandbox.outputs.items()}
        verdict.load_errors = [f"{load.filename}: {load.error}" for load in sandbox.loads if not load.ok]
    order = {_nbgrader(cell).get("grade_id"): i for i, cell in enumerate(trusted.cells)}
    verdict.cells.sort(key=lambda c: order.get(c.grade_id, 0))
    return verdict


def read_notebook(path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)
