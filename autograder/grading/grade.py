"""Grade one submission into its grading record: the one producer every front end calls.

:func:`intake` looks at a submission folder once (what cannot be graded and why, refused files, repaired cells,
the submission time and fingerprint); :func:`grade_submission` runs each notebook once in the sandbox, judges its
graded cells and returns the :class:`~autograder.grading.record.GradingRecord` with the notebook verdicts the
nbgrader plugin renders into the autograded notebook. Given the record of an earlier grading of the same
submission, only the graded cells whose fingerprint changed are judged again; the others keep their verdicts.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from autograder.grading import fingerprint
from autograder.grading import submission as submission_files
from autograder.grading.notebook import (
    CELL_BUDGET_SECONDS,
    NOTEBOOK_BUDGET_SECONDS,
    NOTEBOOK_CELL_TIMEOUT,
    SUBMISSION_BUDGET_SECONDS,
    CellVerdict,
    NotebookVerdict,
    _nbgrader,
    assignment_id,
    assignment_module,
    grade_notebook,
    is_graded_test_cell,
    read_notebook,
)
from autograder.grading.record import CellRecord, GradingRecord
from autograder.sandbox.policy import DEFAULT_LIMITS, Limits

TIMESTAMP_FILE = "timestamp.txt"  # what nbgrader collect / zip_collect write beside a submission


@dataclass(frozen=True)
class GradingOptions:
    """The budgets (seconds) and the worker's limits grading runs with (``c.GradeInSandbox`` in a course)."""

    cell_timeout: float = NOTEBOOK_CELL_TIMEOUT
    notebook_budget: float = NOTEBOOK_BUDGET_SECONDS
    cell_budget: float = CELL_BUDGET_SECONDS
    submission_budget: float = SUBMISSION_BUDGET_SECONDS
    limits: Limits = DEFAULT_LIMITS

    def as_dict(self) -> dict:
        return asdict(self)


def options_from_config(course: Path) -> GradingOptions:
    """The grading options a course's ``nbgrader_config.py`` sets (as the nbgrader plugin would read them)."""
    from traitlets.config.loader import PyFileConfigLoader

    from autograder.grading.nbgrader_plugin import GradeInSandbox

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return GradeInSandbox(config=config).options()


@dataclass
class Intake:
    """What a submission folder holds, looked at once before anything of it runs."""

    refusal: str = ""  # why nothing can be graded, "" when it can
    problems: list[str] = field(default_factory=list)  # every such reason (the feedback page lists them)
    notes: list[str] = field(default_factory=list)  # what grading refused or repaired
    submission_fingerprint: str = ""
    submitted_at: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Intake:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


def submission_time(folder: Path) -> str | None:
    """The submission time ``timestamp.txt`` holds (nbgrader's format, UTC), or None when there is none."""
    from nbgrader.utils import parse_utc

    path = Path(folder) / TIMESTAMP_FILE
    if not path.is_file() or path.is_symlink():
        return None
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        return f"{parse_utc(text)} UTC" if text else None
    except ValueError:
        return None


def _cell_notes(submitted: nbformat.NotebookNode, trusted: nbformat.NotebookNode) -> list[str]:
    """What grading puts back: graded cells the student deleted, or whose type they changed."""
    kinds = {_nbgrader(c).get("grade_id"): c.cell_type for c in submitted.cells
             if _nbgrader(c).get("grade") and _nbgrader(c).get("grade_id")}
    notes = []
    for cell in trusted.cells:
        if not is_graded_test_cell(cell):
            continue
        grade_id = _nbgrader(cell).get("grade_id", "?")
        if grade_id not in kinds:
            notes.append(f"graded cell `{grade_id}` was missing from your notebook; the instructor's copy was "
                         "put back and graded")
        elif kinds[grade_id] != cell.cell_type:
            notes.append(f"graded cell `{grade_id}` had been changed to a {kinds[grade_id]} cell; it was "
                         "restored as a code cell and graded")
    return notes


def intake(folder: Path, trusted: dict[str, nbformat.NotebookNode]) -> Intake:
    """Look at a submission folder that should hold the notebooks of ``trusted`` (file name -> instructor
    notebook): the one refusal check of a submission, its notes, time and fingerprint."""
    folder = Path(folder)
    problems, notes = submission_files.submission_problems(folder, sorted(trusted))
    notes += [f"`{name}`: {why}" for name, why in submission_files.refused_files(folder)]
    if not problems:
        for name, nb in sorted(trusted.items()):
            notes += _cell_notes(read_notebook(folder / name), nb)
    return Intake(problems[0] if problems else "", problems, notes, fingerprint.submission_fingerprint(folder),
                  submission_time(folder))


@dataclass
class Graded:
    """A grading record, with the verdicts (outputs, figures) of each notebook that ran, for rendering."""

    record: GradingRecord
    verdicts: dict[str, NotebookVerdict] = field(default_factory=dict)


def _not_graded(name: str, grade_id: str, points: float, why: str, print_: str) -> CellRecord:
    return CellRecord(name, grade_id, 0.0, points, False, error="NotGraded", message=why, fingerprint=print_)


def _cell_record(name: str, verdict: CellVerdict, print_: str, seconds: float) -> CellRecord:
    failure = verdict.failure
    return CellRecord(name, verdict.grade_id, verdict.points, verdict.max_points, verdict.passed,
                      property=failure.prop if failure else "", input=failure.falsifying_input if failure else "",
                      expected=failure.expected if failure else "", got=failure.got if failure else "",
                      hint=failure.hint if failure else "", error="" if verdict.passed else verdict.error_name,
                      message="" if verdict.passed else verdict.error_message, fingerprint=print_, seconds=seconds)


def _reused_verdict(cell: CellRecord) -> CellVerdict:
    from autograder.grading.notebook import Failure

    failure = Failure(cell.property, cell.input, cell.expected, cell.got, cell.hint) if cell.property else None
    return CellVerdict(cell.grade_id, cell.max_points, cell.passed, error_name=cell.error,
                       error_message=cell.message, failure=failure, reused=True)


def _reusable(previous: GradingRecord | None, checked: Intake, name: str,
              prints: dict[tuple[str, str], str]) -> dict[str, CellRecord]:
    """The verdicts of ``previous`` that still hold: same submission, same cell fingerprint, fully graded."""
    if previous is None or previous.status != "graded" or \
            previous.submission_fingerprint != checked.submission_fingerprint:
        return {}
    return {c.grade_id: c for c in previous.cells if c.notebook == name
            and prints.get((name, c.grade_id)) == c.fingerprint and c.error != "TimeBudgetExceeded"}


def _all_unjudged(cells: list[CellVerdict]) -> bool:
    """Every graded cell failed because the student's process hung or died: nothing could be judged."""
    return bool(cells) and all(not c.passed and c.failure is not None and c.failure.fatal for c in cells)


def grade_submission(folder: Path, assignment: str, *, trusted: dict[str, nbformat.NotebookNode],
                     student: str = "", notebooks: dict[str, nbformat.NotebookNode] | None = None,
                     options: GradingOptions | None = None, checked: Intake | None = None,
                     previous: GradingRecord | None = None) -> Graded:
    """Grade the submission in ``folder`` against the instructor notebooks ``trusted`` (file name -> notebook).

    ``notebooks`` are the notebooks to run (default: read from ``folder``; nbgrader passes its restored copy);
    ``checked`` is the folder's :func:`intake` when the caller already took it (it is then not taken again);
    ``previous`` is the record of an earlier grading, whose verdicts are reused for unchanged cells."""
    start = time.monotonic()
    options = options or GradingOptions()
    module = assignment_module(assignment)
    checked = checked if checked is not None else intake(folder, trusted)
    prints = fingerprint.cell_fingerprints(trusted, module, options.as_dict())
    folder_name = getattr(module, "FOLDER", assignment)
    record = GradingRecord(assignment_id(assignment), folder_name, student, "graded", notes=list(checked.notes),
                           submitted_at=checked.submitted_at,
                           submission_fingerprint=checked.submission_fingerprint,
                           grader_fingerprint=fingerprint.grader_fingerprint(prints))
    graded = Graded(record)
    if checked.refusal:
        record.status, record.refusal = "refused", checked.refusal
        for name, nb in sorted(trusted.items()):
            for cell in nb.cells:
                if is_graded_test_cell(cell):
                    meta = _nbgrader(cell)
                    grade_id = meta.get("grade_id", "?")
                    record.cells.append(_not_graded(name, grade_id, float(meta.get("points", 0)), checked.refusal,
                                                    prints[(name, grade_id)]))
    else:
        cell_seconds = check_seconds = 0.0
        all_cells: list[CellVerdict] = []
        for name, instructor in sorted(trusted.items()):
            nb = notebooks[name] if notebooks is not None else read_notebook(Path(folder) / name)
            reuse = _reusable(previous, checked, name, prints)
            ids = {_nbgrader(c).get("grade_id") for c in instructor.cells if is_graded_test_cell(c)}
            verdict = grade_notebook(
                nb, assignment, test_cells_from=instructor, files=submission_files.regular_files(Path(folder)),
                cell_timeout=options.cell_timeout, notebook_budget=options.notebook_budget,
                cell_budget=options.cell_budget, submission_budget=options.submission_budget,
                limits=options.limits, only=(ids - set(reuse)) if reuse else None, all_cells=True,
                label=f"{student or '-'}/{record.assignment}")
            order = {_nbgrader(c).get("grade_id"): i for i, c in enumerate(instructor.cells)}
            verdict.cells = sorted([*verdict.cells, *(_reused_verdict(c) for c in reuse.values())],
                                   key=lambda c: order.get(c.grade_id, 0))
            graded.verdicts[name] = verdict
            for cell in verdict.cells:
                seconds = reuse[cell.grade_id].seconds if cell.reused else verdict.seconds.get(cell.grade_id, 0.0)
                record.cells.append(_cell_record(name, cell, prints[(name, cell.grade_id)], seconds))
                check_seconds += 0.0 if cell.reused else seconds
            record.cell_errors += verdict.load_errors
            cell_seconds += verdict.seconds.get("cells", 0.0)
            all_cells += verdict.cells
        if _all_unjudged(all_cells):
            record.status = "failed"
        record.seconds = {"cells": round(cell_seconds, 3), "checks": round(check_seconds, 3)}
    record.points = sum(c.points for c in record.cells)
    record.max_points = sum(c.max_points for c in record.cells)
    record.seconds["total"] = round(time.monotonic() - start, 3)
    record.graded_at = datetime.now(UTC).isoformat(timespec="seconds")
    return graded


def trusted_notebooks(source_folder: Path) -> dict[str, nbformat.NotebookNode]:
    """file name -> instructor notebook, for every notebook of an assignment's source folder."""
    return {p.name: read_notebook(p) for p in sorted(Path(source_folder).glob("*.ipynb"))}

