"""The grading record of one submission: what grading it produced, as data every front end renders.

One record per submission, ``autograded/<student>/<folder>/grading.json`` (schema in course.md), written by one
producer (:mod:`autograder.grading.grade`) and read by the nbgrader plugin, ``python -m autograder grade``,
Gradescope's ``results.json``, ``batch`` and the class report. A record of another schema is refused with
:class:`StaleRecord` rather than read as if it were this one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

SCHEMA = 1
RECORD_NAME = "grading.json"
STATUSES = ("graded", "refused", "failed", "infrastructure")  # what a record may say; the batch adds "unchanged"
EARNED = ("graded", "refused", "failed")  # the statuses whose points are the student's own (written as grades)


class StaleRecord(ValueError):
    """A grading record this grader cannot read (another schema, or not a record at all)."""


@dataclass
class CellRecord:
    """The verdict on one graded cell: points, and on failure the property, its input, expected vs got, hint."""

    notebook: str
    grade_id: str
    points: float
    max_points: float
    passed: bool
    property: str = ""
    input: str = ""
    expected: str = ""
    got: str = ""
    hint: str = ""
    error: str = ""  # the error's name (CheckFailure, AssertionError, TimeBudgetExceeded...), "" when passed
    message: str = ""  # the full failure text as the student sees it
    fingerprint: str = ""  # the grader fingerprint of this cell: what decides its verdict
    seconds: float = 0.0


@dataclass
class GradingRecord:
    """Everything grading one submission produced (see the module docstring and course.md)."""

    assignment: str
    folder: str
    student: str
    status: str  # one of STATUSES
    refusal: str = ""
    notes: list[str] = field(default_factory=list)
    submitted_at: str | None = None
    graded_at: str = ""
    submission_fingerprint: str = ""
    grader_fingerprint: str = ""
    points: float = 0.0
    max_points: float = 0.0
    cells: list[CellRecord] = field(default_factory=list)
    cell_errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    schema: int = SCHEMA

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown grading status {self.status!r} (one of {', '.join(STATUSES)})")

    @property
    def earned(self) -> bool:
        """Whether the points are what the student's code earned (and so may be written as a grade)."""
        return self.status in EARNED

    def cell(self, grade_id: str, notebook: str | None = None) -> CellRecord | None:
        """The record of one graded cell, or None."""
        return next((c for c in self.cells if c.grade_id == grade_id and notebook in (None, c.notebook)), None)

    def scores(self) -> dict[str, dict[str, float]]:
        """notebook (without .ipynb) -> grade id -> points, as the gradebook keeps them."""
        scores: dict[str, dict[str, float]] = {}
        for cell in self.cells:
            scores.setdefault(cell.notebook.removesuffix(".ipynb"), {})[cell.grade_id] = cell.points
        return scores

    def to_dict(self) -> dict:
        """The record as JSON-ready data, ``schema`` first."""
        data = asdict(self)
        return {"schema": data.pop("schema"), **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def write(self, path: Path) -> Path:
        """Write the record to ``path`` (a file, or a folder that gets ``grading.json``) atomically."""
        path = Path(path)
        if path.is_dir():
            path = path / RECORD_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_text(self.to_json(), encoding="utf-8")
        os.replace(partial, path)
        return path

    @classmethod
    def from_dict(cls, data: dict) -> GradingRecord:
        """A record from its JSON data; :class:`StaleRecord` for another schema or a malformed record."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise StaleRecord(f"grading record of schema {found!r}, this grader writes schema {SCHEMA}: "
                              "regrade (python -m autograder batch ASSIGNMENT --force) to replace it")
        try:
            known = {f.name for f in fields(cls)}
            cell_fields = {f.name for f in fields(CellRecord)}
            values = {k: v for k, v in data.items() if k in known}
            values["cells"] = [CellRecord(**{k: v for k, v in c.items() if k in cell_fields})
                               for c in data.get("cells", [])]
            return cls(**values)
        except (TypeError, ValueError, AttributeError) as error:
            raise StaleRecord(f"malformed grading record: {error}") from error


def load_record(path: Path) -> GradingRecord:
    """The record at ``path`` (a ``grading.json`` or the folder holding it); :class:`StaleRecord` when it is of
    another schema or unreadable, ``FileNotFoundError`` when there is none."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORD_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise StaleRecord(f"{path} is not a grading record (not JSON: {error})") from error
    return GradingRecord.from_dict(data)


def record_path(course: Path, student: str, folder: str) -> Path:
    """Where the record of ``student``'s submission of ``folder`` lives in a course."""
    return Path(course) / "autograded" / student / folder / RECORD_NAME
