"""Run several nbgrader commands in one process, the way the commands would run one after another.

Each ``nbgrader`` command starts Python and imports nbgrader, nbconvert and (for grading) the checks: 2 to 3 CPU
seconds spent again for every command. A batch job autogrades one submission and writes its feedback; a batch's
template is released twice (into its own gradebook and the course's). This runs nbgrader's own command-line
application for each step in turn, in one interpreter, with the course's ``nbgrader_config.py`` read afresh for
each (as the commands would), and stops at the first step that fails.

Usage (in a course folder): ``python -m autograder.grading.nbgrader_steps STEPS``, STEPS a JSON list of nbgrader
argument lists (:func:`command` builds it). Its exit code says whether every step ran; what grading produced is
the grading record nbgrader's plugin writes, never this process's output.
"""

from __future__ import annotations

import json
import sys


def grading(folder: str, student: str, *autograde_args: str) -> list[list[str]]:
    """One submission: ``nbgrader autograde`` (with ``autograde_args``), then ``nbgrader generate_feedback``."""
    return [["autograde", folder, "--student", student, "--create", "--force", *autograde_args],
            ["generate_feedback", folder, "--student", student, "--force"]]


def release(folder: str, db_url: str) -> list[list[str]]:
    """``nbgrader generate_assignment`` into the folder's own gradebook, then into the gradebook at ``db_url``."""
    return [["generate_assignment", folder, "--force"], ["generate_assignment", folder, "--force", f"--db={db_url}"]]


def command(steps: list[list[str]]) -> list[str]:
    """The command that runs ``steps`` in one process (with this interpreter)."""
    return [sys.executable, "-m", "autograder.grading.nbgrader_steps", json.dumps(steps)]


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
    (steps,) = argv
    for step in json.loads(steps):
        code = run_app(step)
        if code != 0:
            print(f"nbgrader {step[0]} failed (exit {code})", file=sys.stderr, flush=True)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
