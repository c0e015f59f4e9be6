"""The test corpora, one module per assignment (``tests/corpus/<id>.py``), plus ``adversarial`` (attacks on
the grader). An assignment's module holds:

* ``MUTANTS``: realistic mistakes, each the instructor's answer cell with a substitution (:func:`mutant`) and
  the graded cells that must lose their points;
* ``ALTERNATIVES``: correct solutions written another way (name -> {contract name: source}), which must keep
  full marks;
* ``EXPENSIVE``: the graded cells that train (run once by default, through nbgrader; repeats are slow);
* ``E2E``: what the nbgrader end-to-end test needs (:class:`EndToEnd`).

Nothing here runs student code; benchmarks may import these data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.grading.instructor import solution_function


@dataclass(frozen=True)
class Mutant:
    """The answer cell defining ``function`` replaced by ``source``; the cells of ``must_fail`` lose their
    points. ``slow``: it is only caught by a learning check (so its test is marked slow)."""

    name: str
    function: str
    source: str
    must_fail: tuple[str, ...]
    slow: bool = False


Alternative = dict[str, str]  # contract name -> a correct answer cell written another way


def substituted(assignment: str, function: str, *changes: tuple[str, str]) -> str:
    """The instructor's answer cell defining ``function`` with each ``(old, new)`` applied; ``old`` must occur
    exactly once (so that a changed solution breaks the mutant loudly instead of silently making it correct)."""
    source = solution_function(assignment, function)
    for old, new in changes:
        count = source.count(old)
        assert count == 1, f"{assignment}.{function}: {old!r} occurs {count} times in the instructor solution"
        source = source.replace(old, new)
    return source


def mutant(assignment: str, name: str, function: str, changes: list[tuple[str, str]] | tuple[str, str],
           must_fail: tuple[str, ...], slow: bool = False) -> Mutant:
    """A :class:`Mutant` derived from the instructor solution by substitution."""
    pairs = [changes] if isinstance(changes, tuple) else changes
    return Mutant(name, function, substituted(assignment, function, *pairs), tuple(must_fail), slow)


@dataclass(frozen=True)
class Submission:
    """A notebook made from the release (or the instructor's notebook: ``base="solution"``) for a test to
    grade: ``solved`` answer cells (contract names; ``"*"``: all) typed in from the solution, ``unsolved`` ones
    as released, ``mutants`` (names in ``MUTANTS``) in place of their answer cells, ``prepended`` code
    ((name, code) pairs) put before answer cells, ``faked`` graded cells replaced by a print of PASSED,
    ``deleted`` graded cells removed, ``extra`` code cells appended (``{course}`` stands for the scratch course's
    folder); ``only``: the graded cells to grade (None: all).

    What it must score: ``earned`` (grade id -> points; every other cell 0), or ``lost`` (grade id -> the
    points of a cell that scores 0; every other graded cell full marks)."""

    base: str = "release"
    solved: tuple[str, ...] = ("*",)
    unsolved: tuple[str, ...] = ()
    mutants: tuple[str, ...] = ()
    prepended: tuple[tuple[str, str], ...] = ()
    faked: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    only: frozenset[str] | None = None
    earned: dict[str, float] | None = None
    lost: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EndToEnd:
    """Per assignment, for tests/test_e2e.py: ``submissions`` (student -> what to submit besides the
    instructor solution and the untouched release); ``failing_property``: a property named by the feedback of
    ``feedback_of`` (a student); ``not_in_release``: solution snippets the release must not show."""

    submissions: dict[str, Submission]
    failing_property: str
    feedback_of: str = "untouched"
    not_in_release: tuple[str, ...] = ()
    hidden_snippets: tuple[str, ...] = field(default=())
