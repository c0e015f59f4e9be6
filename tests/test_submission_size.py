"""A notebook saved with huge stored outputs is graded without them, with a note, by the batch command and by
plain nbgrader alike; only a notebook that is huge without its outputs is refused. The size limit is a
parameter here (a few MB stand for the real 50 MB); the real limit is taken once, through the batch command, in
tests/test_hostile_submissions.py."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from autograder.grading import submission
from tests.helpers import filled_release

FOLDER = "01_tabular_q_learning"
NAME = "tabular_q_learning.ipynb"
LIMIT = 1_000_000


def bloated(folder: Path, megabytes: float, *, broken_output: bool = False) -> tuple[Path, nbformat.NotebookNode]:
    """The solution typed into the release, saved with ``megabytes`` of printed output in one teaching cell."""
    nb = filled_release(FOLDER)
    teaching = next(c for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader"))
    teaching.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 99 + "\n")]
    teaching.outputs[0].text = ("step 42: loss 0.1234\n" * 50) * int(megabytes * 1e6 / 1050)
    if broken_output:
        teaching.outputs.append({"output_type": "stream"})  # no name, no text: nbformat's schema refuses it
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NAME
    path.write_text(json.dumps(nb, indent=1))  # as Jupyter saves it (nbformat.write would refuse the broken one)
    return path, nb


def sources(nb) -> list[str]:
    return [cell.source for cell in nb.cells]


def test_an_oversized_notebook_is_graded_without_its_outputs_and_a_note_says_so(tmp_path):
    path, nb = bloated(tmp_path / "student", 3)
    assert path.stat().st_size > 3 * LIMIT
    assert submission.notebook_problem(path, LIMIT) == ""
    note = submission.clear_oversized_outputs(path, LIMIT)
    assert "MB" in note and "cleared" in note and "graded" in note
    cleared = nbformat.read(str(path), as_version=4)
    nbformat.validate(cleared)
    assert path.stat().st_size < LIMIT
    assert sources(cleared) == sources(nb)  # the student's work is all there
    assert all(cell.outputs == [] for cell in cleared.cells if cell.cell_type == "code")
    assert submission.clear_oversized_outputs(path, LIMIT) == ""  # small enough now: left as it is


def test_outputs_nbformat_would_refuse_do_not_stop_an_oversized_notebook(tmp_path):
    path, _ = bloated(tmp_path / "student", 2, broken_output=True)
    assert submission.notebook_problem(path, LIMIT) == ""  # judged without the outputs grading clears
    assert "not a notebook nbformat can read" in submission.notebook_problem(path, 10 * LIMIT)  # small: as before


def test_a_notebook_huge_without_its_outputs_is_refused_with_a_reason(tmp_path):
    nb = filled_release(FOLDER)
    nb.cells.append(nbformat.v4.new_markdown_cell("![plot](data:image/png;base64," + "A" * 2_000_000 + ")"))
    path = tmp_path / NAME
    nbformat.write(nb, str(path))
    assert "even without its outputs" in submission.notebook_problem(path, LIMIT)


def test_the_batch_command_notes_and_clears_an_oversized_notebook(tmp_path, monkeypatch):
    monkeypatch.setattr(submission, "MAX_NOTEBOOK_BYTES", LIMIT)
    folder = tmp_path / "submitted" / "student" / FOLDER
    path, nb = bloated(folder, 2)
    problems, notes = submission.submission_problems(folder, [NAME])
    assert problems == [] and any("cleared" in note for note in notes)
    copy = tmp_path / "scratch"
    submission.copy_submission(folder, copy)
    submission.upgrade_old_notebooks(copy)  # what the batch command runs on its copy
    assert (copy / NAME).stat().st_size < LIMIT and sources(nbformat.read(str(copy / NAME), 4)) == sources(nb)
    assert path.stat().st_size > LIMIT  # the student's own file is never changed


def test_plain_nbgrader_grades_an_oversized_notebook_without_its_outputs_and_notes_it(tmp_path, monkeypatch):
    """Under plain ``nbgrader autograde`` the submission's intake (the one look at it, which the nbgrader plugin
    makes too) notes it, and nbgrader's ``ClearOutput``, first of the course's sanitising steps, clears it."""
    from nbgrader.preprocessors import ClearOutput
    from traitlets.config import Config

    from autograder.grading.grade import intake
    from autograder.grading.nbgrader_plugin import configure
    from tests.helpers import source_notebook

    monkeypatch.setattr(submission, "MAX_NOTEBOOK_BYTES", LIMIT)
    path, _ = bloated(tmp_path / "submitted" / "student" / FOLDER, 2)
    checked = intake(path.parent, {NAME: nbformat.read(str(source_notebook("tabular_q_learning")), 4)})
    assert checked.refusal == "" and any("cleared" in note for note in checked.notes)
    c = Config()
    configure(c)
    assert ClearOutput in c.Autograde.sanitize_preprocessors
    nb, _ = ClearOutput().preprocess(nbformat.read(str(path), as_version=4), {})
    assert all(cell.outputs == [] for cell in nb.cells if cell.cell_type == "code")
