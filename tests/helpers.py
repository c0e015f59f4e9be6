"""Shared helpers for the project's tests: load a notebook's solution in-process, run its graded cells."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.assignments import assignment as registered
from autograder.grading.notebook import answer_sources, is_graded_test_cell, read_notebook, run_test_cell

ROOT = Path(__file__).resolve().parent.parent


def source_notebook(assignment: str) -> Path:
    """The instructor notebook of an assignment (the only notebook in its source folder)."""
    return registered(assignment).source_notebook(ROOT)


def solution_sources(assignment: str) -> list[tuple[str, str]]:
    """The setup and answer cells of the instructor notebook, as the sandbox would run them."""
    return answer_sources(read_notebook(source_notebook(assignment)))


def solution_function(assignment: str, name: str) -> str:
    """The instructor's answer cell that defines ``name`` (to build mutants of it by substitution)."""
    return dict(solution_sources(assignment))[f"<cell answer_{name}>"]


def replace_function(sources: list[tuple[str, str]], name: str, new_source: str) -> list[tuple[str, str]]:
    """The same sources with the answer cell defining ``name`` replaced by ``new_source``."""
    target = f"<cell answer_{name}>"
    if not any(filename == target for filename, _ in sources):
        raise KeyError(f"no answer cell for {name}")
    return [(filename, new_source if filename == target else source) for filename, source in sources]


def load_in_process(sources: list[tuple[str, str]]) -> dict:
    """Execute the cells in a fresh namespace here (trusted test code only) and return the namespace."""
    namespace: dict = {"__name__": "__student__"}
    for filename, source in sources:
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace


def graded_cells(assignment: str) -> dict[str, str]:
    """grade_id -> source of every graded test cell of the instructor notebook."""
    nb = read_notebook(source_notebook(assignment))
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in nb.cells if is_graded_test_cell(cell)}


def run_cells(assignment: str, namespace: dict, contract: tuple[str, ...], only=None) -> dict[str, tuple]:
    """grade_id -> (passed, output, error name, message) for the graded cells, run against ``namespace``."""
    objects = {name: namespace[name] for name in contract if name in namespace}
    results = {}
    for grade_id, source in graded_cells(assignment).items():
        if only is None or grade_id in only:
            results[grade_id] = run_test_cell(source, objects)
    return results


def filled_release(folder: str) -> nbformat.NotebookNode:
    """The release notebook of ``folder`` with the instructor's answers typed into its answer cells."""
    release = nbformat.read(str(next((ROOT / "release" / folder).glob("*.ipynb"))), as_version=4)
    source = nbformat.read(str(next((ROOT / "source" / folder).glob("*.ipynb"))), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "\n".join(line for line in answers[grade_id].splitlines()
                                    if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return release
