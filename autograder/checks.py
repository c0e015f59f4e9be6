"""The decorator that turns a property test into a graded check, shared by every assignment module."""

from __future__ import annotations

import contextvars
import functools
import os
from collections.abc import Callable
from typing import Any

from autograder.framework import passed

# Set while the trusted grader (outside the student's kernel) runs a test cell.
_JUDGING = contextvars.ContextVar("rlir_judging", default=False)


def deferred_to_trusted_grader() -> bool:
    """True inside a student's kernel during ``nbgrader autograde`` when our trusted grader is configured.

    The trusted grader re-runs every graded cell outside the kernel and overwrites its outputs, so running
    the check in the kernel too would only cost time. Setting these variables in the kernel cannot earn
    points: the kernel's outputs for graded cells are thrown away either way."""
    return (not _JUDGING.get() and os.environ.get("NBGRADER_EXECUTION") == "autograde"
            and os.environ.get("RLIR_TRUSTED_GRADER") == "1")


def check(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a function as a graded check called ``name``: it prints ``PASSED name`` or raises."""

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(function)
        def run(*student_objects: Any) -> None:
            if deferred_to_trusted_grader():
                print(f"DEFERRED {name}: judged by the trusted grader outside this notebook")
                return
            detail = function(*student_objects)
            passed(name, detail or "")

        run.check_name = name  # type: ignore[attr-defined]
        return run

    return decorate


class judging:
    """Context manager the trusted grader uses while it runs test cells."""

    def __enter__(self) -> judging:
        self._token = _JUDGING.set(True)
        return self

    def __exit__(self, *exc: object) -> None:
        _JUDGING.reset(self._token)
