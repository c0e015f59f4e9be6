"""The instructor's solution of an assignment as trusted code, for the course's tests and benchmarks (never for
grading a student): its setup and answer cells as the sandbox would run them, one answer cell by name, and the
cells executed here, in this process."""

from __future__ import annotations

from pathlib import Path

from autograder.assignments import COURSE_ROOT, assignment
from autograder.grading.notebook import answer_sources, read_notebook


def solution_sources(name: str, root: Path = COURSE_ROOT) -> list[tuple[str, str]]:
    """(cell name, source) of the setup and answer cells of the instructor notebook of assignment ``name``."""
    return answer_sources(read_notebook(assignment(name).source_notebook(root)))


def solution_function(name: str, function: str, root: Path = COURSE_ROOT) -> str:
    """The instructor's answer cell that defines ``function`` (to build mutants of it by substitution)."""
    return dict(solution_sources(name, root))[f"<cell answer_{function}>"]


def load_in_process(sources: list[tuple[str, str]]) -> dict:
    """Execute the cells in a fresh namespace here (trusted instructor code only) and return the namespace."""
    namespace: dict = {"__name__": "__student__"}
    for filename, source in sources:
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace
