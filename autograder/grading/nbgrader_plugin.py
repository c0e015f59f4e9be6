"""nbgrader preprocessors that make autograding trustworthy.

* :class:`GradeInSandbox` replaces nbgrader's ``Execute``: it grades the submission with the one producer of
  grading records (``grade.py``): the submission folder is looked at once (a notebook that is a link, a hard link
  to a file elsewhere or a device is refused and nothing it points to is kept; refused files and repaired cells
  are noted), the notebook's cells run once, in notebook order, in the sandbox (``notebook.py``), and every graded
  test cell is judged outside that process. It renders the record: each graded cell's outputs become its verdict,
  the notes a markdown cell at the top, and it writes the record itself as ``grading.json`` beside the notebook.
  No Jupyter kernel runs student code, and the instructor's test cells never enter the student's process.
* :class:`SanitizeStudentContent` removes active content (scripts, event handlers, JavaScript outputs) from
  what the student's cells produced and from their markdown, in the autograded notebook and in the feedback.

``configure`` installs them, and makes nbgrader copy only regular files of a submission (see ``submission.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Int, Unicode

from autograder.grading import submission
from autograder.grading.grade import GradingOptions, Intake, grade_submission
from autograder.grading.notebook import (
    CELL_BUDGET_SECONDS,
    NOTEBOOK_BUDGET_SECONDS,
    NOTEBOOK_CELL_TIMEOUT,
    SUBMISSION_BUDGET_SECONDS,
    CellVerdict,
    is_graded_test_cell,
)
from autograder.grading.record import RECORD_NAME, GradingRecord, StaleRecord, load_record
from autograder.sandbox import jail_mechanism
from autograder.sandbox.policy import DEFAULT_LIMITS, Limits


def verdict_outputs(verdict: CellVerdict) -> list[NotebookNode]:
    """The cell outputs that show a verdict: the checks' printed lines, then the failure if any."""
    outputs = []
    if verdict.output:
        outputs.append(NotebookNode(output_type="stream", name="stdout", text=verdict.output))
    elif verdict.reused and verdict.passed:
        outputs.append(NotebookNode(output_type="stream", name="stdout",
                                    text=f"PASSED {verdict.grade_id} (verdict kept from the previous grading: "
                                    "neither this submission nor this check changed)\n"))
    for figure in verdict.figures:
        outputs.append(NotebookNode(output_type="display_data", metadata={},
                                    data={"image/png": figure, "text/plain": "<learning curve>"}))
    if not verdict.passed:
        outputs.append(NotebookNode(output_type="error", ename=verdict.error_name, evalue=verdict.error_message,
                                    traceback=[f"{verdict.error_name}: {verdict.error_message}"]))
    return outputs


def _grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _is_locked(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("locked"))


class GradeInSandbox(NbGraderPreprocessor):
    """Grade the notebook into its grading record and render it. Its time budgets and the worker's limits are
    set in nbgrader_config.py like nbgrader's own (``c.GradeInSandbox.timeout``, ``c.GradeInSandbox.memory_bytes``
    ...); the defaults are grading's and the sandbox policy's."""

    enabled = Bool(True, help="Grade in the sandbox (replaces nbgrader's Execute)").tag(config=True)
    timeout = Float(NOTEBOOK_CELL_TIMEOUT, help="Seconds a student cell may run before it is interrupted"
                    ).tag(config=True)
    notebook_budget = Float(NOTEBOOK_BUDGET_SECONDS, help="Seconds all student cells of a notebook may run"
                            ).tag(config=True)
    cell_budget = Float(CELL_BUDGET_SECONDS, help="Seconds the checks of one graded cell may take").tag(config=True)
    submission_budget = Float(SUBMISSION_BUDGET_SECONDS, help="Seconds the checks of all graded cells of a "
                              "notebook may take").tag(config=True)
    memory_bytes = Int(DEFAULT_LIMITS.memory_bytes, help="Address space of the worker running student code"
                       ).tag(config=True)
    processes = Int(DEFAULT_LIMITS.processes, help="Processes (and threads) the student's user may run"
                    ).tag(config=True)
    open_files = Int(DEFAULT_LIMITS.open_files, help="Files the worker may hold open").tag(config=True)
    file_bytes = Int(DEFAULT_LIMITS.file_bytes, help="Largest file the worker may write").tag(config=True)
    cpu_seconds = Int(DEFAULT_LIMITS.cpu_seconds, help="CPU seconds of the worker (0: no cap)").tag(config=True)
    job = Unicode("", help="A batch job file (JSON: the submission's intake, already taken on the original "
                  "folder, and the previous grading record): set by `python -m autograder batch`, not by hand"
                  ).tag(config=True)

    def limits(self) -> Limits:
        """The worker's resource limits, as configured."""
        return Limits(memory_bytes=self.memory_bytes, processes=self.processes, open_files=self.open_files,
                      file_bytes=self.file_bytes, cpu_seconds=self.cpu_seconds)

    def options(self) -> GradingOptions:
        """The budgets and limits grading runs with, as configured."""
        return GradingOptions(self.timeout, self.notebook_budget, self.cell_budget, self.submission_budget,
                              self.limits())

    def _job(self) -> tuple[Intake | None, GradingRecord | None, dict]:
        """The batch job's intake, previous record and previously shown outputs (None, None, {} outside batch)."""
        if not self.job:
            return None, None, {}
        data = json.loads(Path(self.job).read_text(encoding="utf-8"))
        try:
            previous = GradingRecord.from_dict(data["previous"]) if data.get("previous") else None
        except StaleRecord:
            previous = None
        return Intake.from_dict(data["intake"]), previous, data.get("shown") or {}

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        assignment, student = resources["nbgrader"]["assignment"], resources["nbgrader"].get("student", "")
        built = Path(resources.get("metadata", {}).get("path", "."))
        name = f"{resources.get('metadata', {}).get('name', resources.get('unique_key', ''))}.ipynb"
        folder = submission.submitted_folder(built, resources) or built
        checked, previous, shown = self._job()
        if checked is None and not jail_mechanism():
            self.log.warning("this machine cannot jail student code (needs bubblewrap, or root and unshare): "
                             "no network, file-system or process isolation for this submission")
        graded = grade_submission(folder, assignment, trusted={name: nb}, notebooks={name: nb}, student=student,
                                  options=self.options(), checked=checked, previous=previous)
        record = graded.record
        notes = list(record.notes)
        if record.status == "refused":
            self.log.error("refused %s: %s", folder / name, record.refusal)
            self._refuse(nb, record.refusal)
            notes.insert(0, f"this notebook was not graded: {record.refusal}")
        else:
            verdict = graded.verdicts[name]
            by_id = {cell.grade_id: cell for cell in verdict.cells}
            before = shown.get(name, {})
            for index, cell in enumerate(nb.cells):
                if is_graded_test_cell(cell):
                    judged = by_id[_grade_id(cell)]
                    kept = judged.reused and before.get(judged.grade_id) is not None
                    cell.outputs = [from_dict(o) for o in before[judged.grade_id]] if kept \
                        else verdict_outputs(judged)
                elif cell.cell_type == "code":
                    cell.outputs = [from_dict(output) for output in verdict.cell_outputs.get(index, [])]
            for error in record.cell_errors:
                self.log.warning("a cell failed: %s", error.splitlines()[0])
            self.log.info("trusted checks: %s / %s points (cells ran in %.1f s)", record.points,
                          record.max_points, record.seconds.get("cells", 0.0))
        if notes:
            nb.cells.insert(0, notes_cell(notes))
        write_record(record, built)
        return nb, resources

    def _refuse(self, nb: NotebookNode, reason: str) -> None:
        """Keep nothing of a refused notebook but the instructor's cells nbgrader restored; its graded cells
        say why they were not graded."""
        for cell in nb.cells:
            if is_graded_test_cell(cell):
                cell.outputs = [NotebookNode(output_type="error", ename="NotGraded", evalue=reason,
                                             traceback=[f"NotGraded: {reason}"])]
            elif not _is_locked(cell):
                cell.source = ""
                if cell.cell_type == "code":
                    cell.outputs = []


def write_record(record: GradingRecord, folder: Path) -> Path:
    """Write ``record`` as the folder's ``grading.json``, keeping the cells of the submission's other notebooks
    from a record of the same submission and grader already there (nbgrader grades one notebook at a time)."""
    path = folder / RECORD_NAME
    try:
        existing = load_record(path)
    except (FileNotFoundError, StaleRecord):
        existing = None
    if existing is not None and existing.status == record.status == "graded" and \
            (existing.submission_fingerprint, existing.student) == (record.submission_fingerprint, record.student):
        mine = {c.notebook for c in record.cells}
        record.cells = [c for c in existing.cells if c.notebook not in mine] + record.cells
        record.cell_errors = [*existing.cell_errors, *record.cell_errors]
        record.points = sum(c.points for c in record.cells)
        record.max_points = sum(c.max_points for c in record.cells)
    return record.write(path)


def notes_cell(notes: list[str]) -> NotebookNode:
    """A markdown cell at the top of the graded notebook (and so of the feedback) with the grader's notes."""
    lines = "\n".join(f"* {submission.plain_text(note)}" for note in notes)
    return from_dict({"cell_type": "markdown", "metadata": {"rlir_notes": True}, "id": "rlir-grading-notes",
                      "source": f"**Grading notes**\n\n{lines}\n"})


# Tags and attributes student HTML output may keep (tables, images, formatting); never scripts, styles that
# load anything, or event handlers. URLs keep http(s), mailto and data (images) only.
SAFE_TAGS = ["a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
             "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td", "th",
             "thead", "tr", "ul", "caption", "dl", "dt", "dd", "kbd", "s", "small", "tt", "u"]
SAFE_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "width", "height"], "abbr": ["title"],
                   "td": ["colspan", "rowspan", "align"], "th": ["colspan", "rowspan", "align"],
                   "table": ["border"], "div": ["class"], "span": ["class"]}
_ACTIVE_MARKDOWN = re.compile(r"<|(javascript|vbscript|data\s*:\s*text/html)\s*:", re.IGNORECASE)
_SCRIPT_URL = re.compile(r"(javascript|vbscript)\s*:", re.IGNORECASE)


class SanitizeStudentContent(SanitizeHTML):
    """nbconvert's HTML sanitiser, for what a student controls: every code cell's outputs (JavaScript, SVG
    and widget outputs dropped, HTML and markdown outputs cleaned) and every markdown or raw cell the
    student could edit (an instructor's locked cell, restored by nbgrader, is left as written)."""

    enabled = Bool(True, help="Sanitise what student cells produced").tag(config=True)  # nbconvert's is off

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("tags", SAFE_TAGS)
        kwargs.setdefault("attributes", SAFE_ATTRIBUTES)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def preprocess_cell(self, cell, resources, cell_index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code":
            cell.outputs = self.sanitize_code_outputs(cell.get("outputs", []))
        elif meta.get("locked") and not meta.get("solution"):
            pass  # the instructor's text, restored from the gradebook
        elif _ACTIVE_MARKDOWN.search(cell.source):
            cell.source = _SCRIPT_URL.sub("blocked:", self.sanitize_html_tags(cell.source))
        return cell, resources

    def sanitize_html_tags(self, html_str):
        return _SCRIPT_URL.sub("blocked:", super().sanitize_html_tags(html_str))


def configure(c) -> None:
    """Install the preprocessors into nbgrader's autograde and feedback pipelines (from nbgrader_config.py)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearHiddenTests,
        ClearOutput,
        DeduplicateIds,
        GetGrades,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    submission.install_copy_guard()
    c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                                          CheckCellMetadata]
    c.Autograde.autograde_preprocessors = [
        GradeInSandbox, SanitizeStudentContent, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    # Feedback shows each graded cell's verdict, never the source of its hidden tests, and no active content.
    c.GenerateFeedback.preprocessors = [ClearHiddenTests, GetGrades, SanitizeStudentContent,
                                        CSSHTMLHeaderPreprocessor]
