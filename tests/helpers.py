"""Shared helpers for the project's tests: the instructor solution in-process (from
``autograder.grading.instructor``, which the benchmarks use too), its graded cells run against a namespace, a
corpus by assignment, and notebooks made from the solution or the release as a corpus ``Submission`` says."""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

from autograder.assignments import registry
from autograder.grading.instructor import load_in_process, solution_function, solution_sources
from autograder.grading.notebook import is_graded_test_cell, read_notebook, run_test_cell
from tests.corpus import Submission

ROOT = Path(__file__).resolve().parent.parent
__all__ = ["ROOT", "busy_machine", "corpus", "expensive", "failures", "graded_cells", "load_in_process", "notebook_of",
           "replace_function", "run_cells", "solution_function", "solution_namespace", "solution_sources",
           "source_notebook"]


def require_jail(what: str) -> None:
    """Skip unless a jail (bubblewrap, or unshare as root) gives the worker its own namespaces here."""
    from autograder.sandbox import jail_mechanism

    if not jail_mechanism():
        pytest.skip(f"this machine cannot jail student code, so {what}")


@contextlib.contextmanager
def busy_machine(per_core: int = 3):
    """The machine saturated while the block runs: ``per_core`` spinning processes per core, stopped after.
    Each in a session of its own, as other users' work is: where the kernel groups processes by session for
    scheduling (autogroup), spinners sharing the tests' session would together take only that session's
    share, and the sandbox worker (in its own session) would hardly feel them."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL,
                                 start_new_session=True)
                for _ in range(per_core * (os.cpu_count() or 1))]
    try:
        yield len(spinners)
    finally:
        for process in spinners:
            process.kill()
            process.wait()


def source_notebook(assignment: str) -> Path:
    """The instructor notebook of an assignment (the only notebook in its source folder)."""
    return registry()[assignment].source_notebook(ROOT)


def corpus(assignment: str) -> ModuleType:
    """tests/corpus/<assignment>.py: its MUTANTS, ALTERNATIVES, EXPENSIVE, TWICE and E2E."""
    return importlib.import_module(f"tests.corpus.{assignment}")


def expensive(assignment: str) -> set[str]:
    """The graded cells that train (left out of the default in-process runs)."""
    return set(corpus(assignment).EXPENSIVE)


def replace_function(sources: list[tuple[str, str]], name: str, new_source: str) -> list[tuple[str, str]]:
    """The same sources with the answer cell defining ``name`` replaced by ``new_source``."""
    target = f"<cell answer_{name}>"
    if not any(filename == target for filename, _ in sources):
        raise KeyError(f"no answer cell for {name}")
    return [(filename, new_source if filename == target else source) for filename, source in sources]


def solution_namespace(assignment: str, overrides: dict[str, str] | None = None) -> dict:
    """The instructor solution run here, with the answer cells of ``overrides`` (name -> source) replaced."""
    sources = solution_sources(assignment)
    for name, source in (overrides or {}).items():
        sources = replace_function(sources, name, source)
    return load_in_process(sources)


@functools.cache
def _graded_cells(assignment: str) -> tuple[tuple[str, str], ...]:
    nb = read_notebook(source_notebook(assignment))
    return tuple((cell.metadata["nbgrader"]["grade_id"], cell.source) for cell in nb.cells if is_graded_test_cell(cell))


def graded_cells(assignment: str) -> dict[str, str]:
    """grade_id -> source of every graded test cell of the instructor notebook."""
    return dict(_graded_cells(assignment))


def run_cells(assignment: str, namespace: dict, contract: tuple[str, ...] | None = None,
              only=None) -> dict[str, tuple]:
    """grade_id -> (passed, output, error name, message) for the graded cells, run against ``namespace``."""
    contract = registry()[assignment].contract if contract is None else contract
    objects = {name: namespace[name] for name in contract if name in namespace}
    return {grade_id: run_test_cell(source, objects) for grade_id, source in graded_cells(assignment).items()
            if only is None or grade_id in only}


def failures(results: dict[str, tuple]) -> dict[str, str]:
    return {grade_id: message for grade_id, (ok, _, _, message) in results.items() if not ok}


def answer_cells(notebook: Path) -> dict[str, str]:
    """grade id -> source of every answer (solution) cell of a notebook file."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(str(notebook), 4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def notebook_of(assignment: str, spec: Submission | None = None, *, deleted: tuple[str, ...] = (),
                course: Path | None = None) -> nbformat.NotebookNode:
    """The notebook ``spec`` describes (by default the instructor's, unchanged), without the graded cells of
    ``deleted``; ``course`` replaces ``{course}`` in its extra cells."""
    spec = spec or Submission(base="solution")
    a = registry()[assignment]
    nb = copy.deepcopy(read_notebook(a.source_notebook(ROOT) if spec.base == "solution" else a.release_notebook(ROOT)))
    solution, released = answer_cells(a.source_notebook(ROOT)), answer_cells(a.release_notebook(ROOT))
    mutants = {m.name: m for m in corpus(assignment).MUTANTS}
    replaced = {f"answer_{mutants[name].function}": mutants[name].source for name in spec.mutants}
    solved = set(solution) if spec.solved == ("*",) else {f"answer_{name}" for name in spec.solved}
    prepended = {f"answer_{name}": code for name, code in spec.prepended}
    missing = ({f"answer_{n}" for n in spec.unsolved} | set(replaced) | set(prepended) | set(spec.faked)
               | set(spec.deleted) | set(deleted) | solved) - {c.metadata.get("nbgrader", {}).get("grade_id")
                                                               for c in nb.cells}
    assert not missing, f"{assignment}: no cells {sorted(missing)}"
    kept = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in spec.deleted or grade_id in deleted:
            continue
        if spec.base == "release" and grade_id in solved:
            cell.source = solution[grade_id]
        if grade_id in {f"answer_{n}" for n in spec.unsolved}:
            cell.source = released[grade_id]
        cell.source = prepended.get(grade_id, "") + replaced.get(grade_id, cell.source)
        if grade_id in spec.faked:
            cell.source = f'print("PASSED {grade_id}")'
        kept.append(cell)
    kept += [nbformat.v4.new_code_cell(source.replace("{course}", str(course))) for source in spec.extra]
    nb.cells = kept
    return nb


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
