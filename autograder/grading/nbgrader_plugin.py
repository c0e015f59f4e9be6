"""nbgrader preprocessors that make autograding trustworthy.

* :class:`SubmissionGuard` (first of nbgrader's sanitising steps) refuses a notebook that is not a regular file
  of the submission (a symbolic link, a hard link to a file elsewhere, a device): nothing it points to is
  read into the graded notebook; and it records which graded cells the student's notebook had, for the notes.
* :class:`GradeInSandbox` replaces nbgrader's ``Execute``: it runs the notebook's cells once, in notebook order,
  in the sandbox (see ``notebook.py``), keeps their outputs, and judges every graded test cell outside that
  process, replacing the cell's outputs with the verdict. No Jupyter kernel runs student code, and the
  instructor's test cells never enter the student's process.
* :class:`SanitizeStudentContent` removes active content (scripts, event handlers, JavaScript outputs) from
  what the student's cells produced and from their markdown, in the autograded notebook and in the feedback.

``configure`` installs them, and makes nbgrader copy only regular files of a submission (see ``submission.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Int

from autograder.grading import submission
from autograder.grading.notebook import (
    CELL_BUDGET_SECONDS,
    NOTEBOOK_BUDGET_SECONDS,
    NOTEBOOK_CELL_TIMEOUT,
    SUBMISSION_BUDGET_SECONDS,
    CellVerdict,
    grade_notebook,
    is_graded_test_cell,
)
from autograder.sandbox import jail_mechanism
from autograder.sandbox.policy import DEFAULT_LIMITS, Limits

RECORD = "rlir_submission"  # notebook metadata the guard writes and the grader reads (never the student's)


def verdict_outputs(verdict: CellVerdict) -> list[NotebookNode]:
    """The cell outputs that show a verdict: the checks' printed lines, then the failure if any."""
    outputs = []
    if verdict.output:
        outputs.append(NotebookNode(output_type="stream", name="stdout", text=verdict.output))
    for figure in verdict.figures:
        outputs.append(NotebookNode(output_type="display_data", metadata={},
                                    data={"image/png": figure, "text/plain": "<learning curve>"}))
    if not verdict.passed:
        outputs.append(NotebookNode(output_type="error", ename=verdict.error_name, evalue=verdict.error_message,
                                    traceback=[f"{verdict.error_name}: {verdict.error_message}"]))
    return outputs


def _grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


class SubmissionGuard(NbGraderPreprocessor):
    """Refuse a notebook that is not a regular file of its own, before anything of it is used."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        metadata = resources.get("metadata", {})
        path = Path(metadata.get("path", ".")) / f"{metadata.get('name', resources.get('unique_key', ''))}.ipynb"
        reason = submission.refusal(path, Path(metadata.get("path", ".")))
        record = {"refused": reason,
                  "graded": {_grade_id(c): c.cell_type for c in nb.cells if _grade_id(c) and
                             c.get("metadata", {}).get("nbgrader", {}).get("grade")}}
        if reason:
            self.log.error("refused %s: %s", path, reason)
            for cell in nb.cells:  # nothing of what it points to goes on; nbgrader restores the graded cells
                cell.source = ""
                if cell.cell_type == "code":
                    cell.outputs = []
        elif path.is_file() and submission.oversized(path):  # graded without its stored outputs, with a note
            record["notes"] = [submission.size_note(path.name, path.stat().st_size)]
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
        nb.metadata[RECORD] = record
        return nb, resources


class GradeInSandbox(NbGraderPreprocessor):
    """Run the student's cells once in the sandbox and judge each graded cell outside it. Its time budgets
    and the worker's limits are set in nbgrader_config.py like nbgrader's own (``c.GradeInSandbox.timeout``,
    ``c.GradeInSandbox.memory_bytes``...); the defaults are grading's and the sandbox policy's."""

    enabled = Bool(True, help="Grade in the sandbox (replaces nbgrader's Execute)").tag(config=True)
    timeout = Float(NOTEBOOK_CELL_TIMEOUT, help="Seconds a student cell may run before it is interrupted"
                    ).tag(config=True)
    notebook_budget = Float(NOTEBOOK_BUDGET_SECONDS, help="Seconds all student cells of a notebook may run"
                            ).tag(config=True)
    cell_budget = Float(CELL_BUDGET_SECONDS, help="CPU seconds the student's code may use in the checks of one "
                        "graded cell").tag(config=True)
    submission_budget = Float(SUBMISSION_BUDGET_SECONDS, help="CPU seconds the student's code may use in the "
                              "checks of all graded cells of a notebook").tag(config=True)
    memory_bytes = Int(DEFAULT_LIMITS.memory_bytes, help="Address space of the worker running student code"
                       ).tag(config=True)
    processes = Int(DEFAULT_LIMITS.processes, help="Processes (and threads) the student's user may run"
                    ).tag(config=True)
    open_files = Int(DEFAULT_LIMITS.open_files, help="Files the worker may hold open").tag(config=True)
    file_bytes = Int(DEFAULT_LIMITS.file_bytes, help="Largest file the worker may write").tag(config=True)
    cpu_seconds = Int(DEFAULT_LIMITS.cpu_seconds, help="CPU seconds of the worker (0: no cap)").tag(config=True)

    def limits(self) -> Limits:
        """The worker's resource limits, as configured."""
        return Limits(memory_bytes=self.memory_bytes, processes=self.processes, open_files=self.open_files,
                      file_bytes=self.file_bytes, cpu_seconds=self.cpu_seconds)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        assignment = resources["nbgrader"]["assignment"]
        record = nb.metadata.pop(RECORD, None) or {"refused": "", "graded": {}}
        folder = Path(resources.get("metadata", {}).get("path", "."))
        notes = submission.notes_from_environment()
        notes += [f"`{name}`: {why}" for name, why in submission.refused_files(
            submission.submitted_folder(folder, resources))]
        notes += _cell_notes(nb, record["graded"]) if not record["refused"] else []
        notes += record.get("notes", [])
        if record["refused"]:
            self._refuse(nb, record["refused"])
            notes.insert(0, f"this notebook was not graded: {record['refused']}")
        else:
            if not jail_mechanism():
                self.log.warning("this machine cannot jail student code (needs bubblewrap, or root and unshare): "
                                 "no network, file-system or process isolation for this submission")
            verdict = grade_notebook(nb, assignment, files=submission.regular_files(folder),
                                     cell_timeout=self.timeout, notebook_budget=self.notebook_budget,
                                     cell_budget=self.cell_budget, submission_budget=self.submission_budget,
                                     limits=self.limits())
            by_id = {cell.grade_id: cell for cell in verdict.cells}
            for index, cell in enumerate(nb.cells):
                if is_graded_test_cell(cell):
                    cell.outputs = verdict_outputs(by_id[_grade_id(cell)])
                elif cell.cell_type == "code":
                    cell.outputs = [from_dict(output) for output in verdict.cell_outputs.get(index, [])]
            for error in verdict.load_errors:
                self.log.warning("a cell failed: %s", error.splitlines()[0])
            self.log.info("trusted checks: %s / %s points (cells ran in %.1f s)", verdict.points,
                          verdict.max_points, verdict.seconds.get("cells", 0.0))
        if notes:
            nb.cells.insert(0, notes_cell(notes))
        return nb, resources

    def _refuse(self, nb: NotebookNode, reason: str) -> None:
        for cell in nb.cells:
            if is_graded_test_cell(cell):
                cell.outputs = [NotebookNode(output_type="error", ename="NotGraded", evalue=reason,
                                             traceback=[f"NotGraded: {reason}"])]


def _cell_notes(nb: NotebookNode, submitted: dict[str, str]) -> list[str]:
    """What nbgrader had to put back: graded cells the student deleted, or whose type they changed."""
    notes = []
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        if not is_graded_test_cell(cell):
            continue
        if grade_id not in submitted:
            notes.append(f"graded cell `{grade_id}` was missing from your notebook; the instructor's copy was "
                         "put back and graded")
        elif submitted[grade_id] != cell.cell_type:
            notes.append(f"graded cell `{grade_id}` had been changed to a {submitted[grade_id]} cell; it was "
                         "restored as a code cell and graded")
    return notes


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
    c.Autograde.sanitize_preprocessors = [SubmissionGuard, ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                          OverwriteCells, CheckCellMetadata]
    c.Autograde.autograde_preprocessors = [
        GradeInSandbox, SanitizeStudentContent, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    # Feedback shows each graded cell's verdict, never the source of its hidden tests, and no active content.
    c.GenerateFeedback.preprocessors = [ClearHiddenTests, GetGrades, SanitizeStudentContent,
                                        CSSHTMLHeaderPreprocessor]
