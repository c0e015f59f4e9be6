"""Run an assignment through the real nbgrader CLI in a temporary course directory (for end-to-end tests)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.assignments import assignment as registered
from tests.helpers import ROOT


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nbgrader with this interpreter's bin first on PATH; fail the test with its output on error."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    result = subprocess.run([os.path.join(bin_dir, "nbgrader"), *args], cwd=course, env=env,
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def assignment_folder(assignment: str) -> str:
    """``dqn`` -> ``02_dqn`` (the folder name under source/)."""
    return registered(assignment).folder


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


def answer_cells(notebook: Path) -> dict[str, str]:
    """grade id -> source of every answer (solution) cell of a notebook file
    (``autograder.grading.notebook.answer_sources`` gives the cells as the sandbox runs them instead)."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(str(notebook), 4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def autograde_and_feedback(course: Path, folder: str) -> None:
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
