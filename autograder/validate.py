"""Check a course notebook the way grading runs it, before you submit it.

    python -m autograder.validate tabular_q_learning.ipynb

runs every code cell of the notebook once, top to bottom, in this fresh Python process, as grading does: the
install cell is skipped, the teaching runs are as short as under grading (``NBGRADER_EXECUTION`` is set), a cell
that runs longer than grading allows is interrupted and the rest still run (graded cells run to the end: their
budgets are the grader's, on its machine), and each graded cell is judged on
what the cells above it defined (the names of the assignment's contract, nothing else). It prints ``PASSED`` or
``FAILED`` for every graded cell, with its points and, on failure, the check's message, and exits 0 only when
every cell ran and every graded cell passed. Grading adds hidden tests to some graded cells: passing here is
what a correct notebook needs, not all it needs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import signal
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autograder.toolkit.cells import (
    NOTEBOOK_CELL_TIMEOUT,
    TEACHING_RUNS_SHORTENED,
    grade_id,
    is_graded_test_cell,
    is_install_cell,
    points,
    python_source,
)

_CHECKS_IMPORT = re.compile(r"^\s*from autograder\.assignments\.(\w+) import", re.MULTILINE)


class CellTimedOut(Exception):
    """Raised inside a cell that ran past the grader's time limit."""


@dataclass
class Outcome:
    """One code cell's run: a graded cell's verdict, or whether a student cell raised."""

    index: int
    name: str
    graded: bool
    ok: bool
    seconds: float
    max_points: float = 0.0
    message: str = ""
    output: str = ""
    cpu_seconds: float = 0.0  # this process's and its finished children's


def _cpu_seconds() -> float:
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def read_cells(path: Path) -> list[dict]:
    """The cells of a notebook file (nbformat 4 JSON), each cell's source as one string."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    except (ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"{path}: not a notebook this can read ({error})") from None
    for cell in cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return cells


def assignment_of(cells) -> str | None:
    """The assignment whose checks the graded cells import (``tabular_q_learning``), if any."""
    found = Counter(match for cell in cells if is_graded_test_cell(cell)
                    for match in _CHECKS_IMPORT.findall(cell["source"]))
    return found.most_common(1)[0][0] if found else None


def contract_of(assignment: str | None) -> tuple[str, ...] | None:
    """The names a graded cell of ``assignment`` may use (its public contract), or None when unknown."""
    if assignment is None:
        return None
    from autograder.assignments import assignment as lookup

    try:
        return tuple(lookup(assignment).module().CONTRACT)
    except (ValueError, AttributeError, ImportError):
        return None


@contextlib.contextmanager
def _time_limit(seconds: float):
    def interrupt(signum, frame):
        raise CellTimedOut(f"this cell ran longer than {seconds:.0f} s, and grading interrupts it there; "
                           "shorten long runs when NBGRADER_EXECUTION is set")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _shell(namespace: dict):
    """An IPython shell on ``namespace`` (for ``%magics`` and ``!commands``), or None without IPython."""
    try:
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
    except ImportError:
        return None
    if InteractiveShell.initialized():  # called from inside IPython: never run cells in the caller's namespace
        return None
    config = Config()
    config.HistoryManager.enabled = False  # no history file of the run
    return InteractiveShell.instance(config=config, user_ns=namespace, colors="nocolor", xmode="Plain")


def _run_student_cell(shell, namespace: dict, source: str, timeout: float) -> tuple[bool, str, str]:
    """(ran without error, the error, what it printed)."""
    printed = io.StringIO()
    error = ""
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        try:
            with _time_limit(timeout):
                if shell is not None:
                    result = shell.run_cell(source, store_history=False, silent=True)
                    if not result.success:
                        failure = result.error_in_exec or result.error_before_exec
                        error = f"{type(failure).__name__}: {failure}"
                else:
                    exec(compile(source, "<cell>", "exec"), namespace)  # noqa: S102 - the student's own cell
        except KeyboardInterrupt:
            raise
        except BaseException as failure:  # noqa: BLE001 - reported, and the next cells still run
            error = f"{type(failure).__name__}: {failure}"
    return not error, error, printed.getvalue()


def _plain_python(source: str) -> str:
    try:
        return python_source(source)
    except ImportError:  # no IPython: the course's graded cells are plain Python anyway
        return source


def _judge(source: str, objects: dict) -> tuple[bool, str, str]:
    """Run one graded cell on ``objects`` as the grader does: (passed, message, what it printed). No wall-clock
    limit here: the grader's budgets for the checks are its own (and a slow or busy laptop is not the grader)."""
    from autograder.toolkit.checks import judging

    namespace = {"__name__": "__rlir_validate__", **objects}
    printed = io.StringIO()
    try:
        code = compile(_plain_python(source), "<graded cell>", "exec")
        with judging([]), contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            exec(code, namespace)  # noqa: S102 - the course's own graded cell
    except AssertionError as failure:  # a check's CheckFailure is one
        return False, str(failure) or "a test failed", printed.getvalue()
    except Exception as failure:  # noqa: BLE001 - this cell's failure, reported
        return False, f"{type(failure).__name__}: {failure}", printed.getvalue()
    return True, "", printed.getvalue()


def validate(path: Path, *, timeout: float = NOTEBOOK_CELL_TIMEOUT, report=print,
             shorten_teaching_runs: bool = True) -> list[Outcome]:
    """Run the notebook at ``path`` as grading does and ``report`` each graded cell's verdict (and each
    student cell that raised) as it comes; the outcome of every code cell that ran. With
    ``shorten_teaching_runs=False`` the teaching cells run in full, as in a student's Jupyter (for timing them:
    ``benchmarks/notebook_times.py``)."""
    cells = read_cells(path)
    contract = contract_of(assignment_of(cells))
    if shorten_teaching_runs:
        os.environ.update(TEACHING_RUNS_SHORTENED)
    else:
        for name in TEACHING_RUNS_SHORTENED:
            os.environ.pop(name, None)
    os.environ.pop("RLIR_TRUSTED_GRADER", None)  # the checks run here, not in a grader outside
    os.environ["MPLBACKEND"] = "Agg"  # figures are drawn, never shown: nothing waits for a window
    warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
    namespace: dict = {"__name__": "__main__"}
    shell = _shell(namespace)
    outcomes = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or is_install_cell(cell):
            continue
        name, start, cpu = grade_id(cell, index), time.perf_counter(), _cpu_seconds()
        if is_graded_test_cell(cell):
            names = contract if contract is not None else [k for k in namespace if not k.startswith("_")]
            objects = {key: namespace[key] for key in names if key in namespace}
            ok, message, output = _judge(cell["source"], objects)
            outcome = Outcome(index, name, True, ok, time.perf_counter() - start, points(cell), message, output)
        else:
            ok, message, output = _run_student_cell(shell, namespace, cell["source"], timeout)
            outcome = Outcome(index, name, False, ok, time.perf_counter() - start, message=message, output=output)
        outcome.cpu_seconds = _cpu_seconds() - cpu
        outcomes.append(outcome)
        if outcome.graded or not outcome.ok:
            report(describe(outcome))
    return outcomes


def describe(outcome: Outcome) -> str:
    """One verdict as the student reads it."""
    if outcome.graded:
        earned = outcome.max_points if outcome.ok else 0.0
        head = (f"{'PASSED' if outcome.ok else 'FAILED'}  {outcome.name}  {earned:g} of {outcome.max_points:g} "
                f"points  ({outcome.seconds:.1f} s)")
        return head if outcome.ok else head + "\n" + _indent(outcome.message)
    tail = "\n".join(outcome.output.strip().splitlines()[-10:])
    return (f"ERROR   cell {outcome.index} ({outcome.name}) raised {outcome.message}"
            + (f"\n{_indent(tail)}" if tail else ""))


def _indent(text: str) -> str:
    return "\n".join("        " + line for line in text.splitlines())


def summary(outcomes: list[Outcome]) -> str:
    graded = [o for o in outcomes if o.graded]
    earned = sum(o.max_points for o in graded if o.ok)
    total = sum(o.max_points for o in graded)
    errors = sum(1 for o in outcomes if not o.graded and not o.ok)
    return (f"{sum(o.ok for o in graded)} of {len(graded)} graded cells passed: {earned:g} of {total:g} points on "
            f"the visible checks" + (f"; {errors} other cell(s) raised an error" if errors else "")
            + ". Grading adds hidden tests to some cells.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.validate", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path, help="the .ipynb file, as you will submit it")
    args = parser.parse_args(argv)
    if not args.notebook.is_file():
        parser.error(f"{args.notebook}: no such notebook file")
    os.chdir(args.notebook.resolve().parent)  # grading runs a notebook in its own folder
    print(f"Running {args.notebook.name} as grading does: every code cell once, top to bottom, in a fresh Python "
          f"(the install cell skipped, teaching runs shortened, a cell stopped after {NOTEBOOK_CELL_TIMEOUT:.0f} s) "
          "...", flush=True)
    outcomes = validate(args.notebook.resolve(), report=lambda line: print(line, flush=True))
    print(summary(outcomes))
    return 0 if outcomes and all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
