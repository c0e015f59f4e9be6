"""Autograde one submission and write its feedback in one process, the way the two nbgrader commands would.

``nbgrader autograde`` and ``nbgrader generate_feedback`` each start Python and import nbgrader, nbconvert and
(for grading) torch and the checks: about 4 s per submission spent twice. This runs nbgrader's own command-line
application for each step in turn, in one interpreter, with the course's ``nbgrader_config.py`` read afresh for
each (as the commands would), and stops at the first step that fails.

Usage (in a course folder): ``python -m autograder.grading.nbgrader_steps ASSIGNMENT STUDENT [AUTOGRADE_ARG...]``
(the extra arguments go to ``autograde``, e.g. ``--GradeInSandbox.job=FILE``). Its exit code says whether every
step ran; what grading produced is the grading record nbgrader's plugin writes, never this process's output.
"""

from __future__ import annotations

import sys


def steps(folder: str, student: str, *autograde_args: str) -> list[list[str]]:
    """The nbgrader commands one submission goes through, in order."""
    return [["autograde", folder, "--student", student, "--create", "--force", *autograde_args],
            ["generate_feedback", folder, "--student", student, "--force"]]


def run_app(argv: list[str]) -> int:
    """nbgrader's application on ``argv`` in this process (fresh, as a new command would be); its exit code."""
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    _forget_apps()
    try:
        app = NbGraderApp.instance()
        app.initialize(argv)
        app.start()
    except NoStart:  # how a Jupyter application says its subcommand ran (launch_instance swallows it)
        pass
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        _forget_apps()
    return 0


def _forget_apps() -> None:
    """Drop every traitlets application singleton, so that the next step builds its own."""
    from traitlets.config import SingletonConfigurable

    pending = [SingletonConfigurable]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if getattr(cls, "_instance", None) is not None:
            cls._instance = None


def main(argv: list[str]) -> int:
    folder, student, *autograde_args = argv
    for step in steps(folder, student, *autograde_args):
        code = run_app(step)
        if code != 0:
            print(f"nbgrader {step[0]} failed (exit {code})", file=sys.stderr, flush=True)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
