"""Run assignments through the real nbgrader CLI in temporary course directories (for end-to-end tests)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nbformat

from autograder.assignments import registry
from autograder.grading.batch import nbgrader_command, nbgrader_env
from tests.helpers import ROOT, answer_cells

__all__ = ["answer_cells", "assignment_folder", "autograde_and_feedback", "feedback_html", "make_course", "nbgrader",
           "notebook_name", "same_notebook", "scores", "submit"]


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nbgrader as the batch grader does (this venv's bin first on PATH); fail the test with its output."""
    result = subprocess.run(nbgrader_command(*args), cwd=course, env=nbgrader_env(), capture_output=True, text=True,
                            timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def assignment_folder(assignment: str) -> str:
    """``dqn`` -> ``02_dqn`` (the folder name under source/)."""
    return registry()[assignment].folder


def notebook_name(assignment: str) -> str:
    return registry()[assignment].source_notebook(ROOT).name


def make_course(tmp: Path, assignment: str) -> tuple[Path, str, Path, Path]:
    """A scratch course with the assignment released; returns (course, folder, source nb, release nb)."""
    folder = assignment_folder(assignment)
    shutil.copy(ROOT / "nbgrader_config.py", tmp)
    shutil.copytree(ROOT / "source" / folder, tmp / "source" / folder)
    nbgrader(tmp, "generate_assignment", folder, "--force")
    (source,) = sorted((tmp / "source" / folder).glob("*.ipynb"))
    return tmp, folder, source, tmp / "release" / folder / source.name


def submit(course: Path, folder: str, student: str, notebook: nbformat.NotebookNode | Path, name: str) -> None:
    """Place a notebook (a file, or a notebook object) as ``student``'s submission."""
    target = course / "submitted" / student / folder
    target.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, Path):
        shutil.copy(notebook, target / name)
    else:
        nbformat.write(notebook, str(target / name))


def autograde_and_feedback(course: Path, folder: str) -> None:
    """One ``nbgrader autograde`` of every submission of ``folder``, then their feedback pages."""
    nbgrader(course, "autograde", folder, "--force", "--create")
    nbgrader(course, "generate_feedback", folder, "--force")


def scores(course: Path, folder: str, notebook_name: str, student: str) -> dict[str, float]:
    """grade cell id -> autograded score of one student's notebook, read from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(notebook_name.removesuffix(".ipynb"), folder, student)
        return {grade.name: grade.score for grade in notebook.grades if grade.cell_type == "code"}


def same_notebook(a: Path, b: Path) -> bool:
    """Two notebook files hold the same JSON."""
    return json.loads(a.read_text(encoding="utf-8")) == json.loads(b.read_text(encoding="utf-8"))


def feedback_html(course: Path, folder: str, student: str, notebook_name: str) -> str:
    return (course / "feedback" / student / folder / notebook_name.replace(".ipynb", ".html")).read_text()
