"""nbgrader preprocessors that make autograding trustworthy.

* :class:`TrustedChecks` re-runs every graded test cell outside the student's kernel (see ``notebook.py``)
  and replaces the cell's outputs with that verdict, so whatever the student's cells did inside the kernel
  (patching numpy or a check, printing a fake score, swallowing errors) cannot change a grade.
* :class:`ResilientExecute` is nbgrader's ``Execute`` that survives a kernel killed by the student's code
  (``os._exit``, a crash): the notebook keeps the outputs it has and grading goes on. Its kernel runs in
  the sandbox's jail (see ``kernel_jail.py``).
"""

from __future__ import annotations

import os

from nbclient.exceptions import DeadKernelError
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool

from autograder.notebook import CellVerdict, grade_notebook, is_graded_test_cell
from autograder.sandbox import _network_jail


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


class TrustedChecks(NbGraderPreprocessor):
    """Grade each graded test cell outside the kernel and overwrite its outputs with the verdict."""

    enabled = Bool(True, help="Re-run graded cells outside the student's kernel").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        assignment = resources["nbgrader"]["assignment"]
        if not _network_jail():
            self.log.warning("this machine cannot jail student code (needs root and unshare): no network, "
                             "file-system or process isolation for this submission")
        verdict = grade_notebook(nb, assignment)
        by_id = {cell.grade_id: cell for cell in verdict.cells}
        for cell in nb.cells:
            if is_graded_test_cell(cell):
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                cell.outputs = verdict_outputs(by_id[grade_id])
        for error in verdict.load_errors:
            self.log.warning("answer cell failed to run: %s", error.splitlines()[0])
        self.log.info("trusted checks: %s / %s points", verdict.points, verdict.max_points)
        return nb, resources


class ResilientExecute(Execute):
    """nbgrader's Execute, except that the kernel is jailed and a kernel killed by student code does not
    abort the notebook."""

    def __init__(self, *args, **kwargs) -> None:
        from autograder.kernel_jail import JailedKernelManager

        kwargs.setdefault("kernel_manager_class", JailedKernelManager)  # nbgrader's Execute passes its own
        super().__init__(*args, **kwargs)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict, *args, **kwargs):
        try:
            return super().preprocess(nb, resources, *args, **kwargs)
        except DeadKernelError as error:
            self.log.warning("the student's kernel died (%s); later cells were not run", error)
            for cell in nb.cells:
                if cell.cell_type == "code" and not cell.get("outputs") and is_graded_test_cell(cell):
                    cell.outputs = [NotebookNode(output_type="error", ename="DeadKernelError",
                                                 evalue="the kernel died before this cell ran",
                                                 traceback=["DeadKernelError: the kernel died"])]
            return nb, resources


def configure(c) -> None:
    """Install both preprocessors into nbgrader's autograde pipeline (called from nbgrader_config.py)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearHiddenTests,
        GetGrades,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    os.environ["RLIR_TRUSTED_GRADER"] = "1"
    c.Autograde.autograde_preprocessors = [
        ResilientExecute, TrustedChecks, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata]
    # Feedback shows each graded cell's verdict, never the source of its hidden tests.
    c.GenerateFeedback.preprocessors = [ClearHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
