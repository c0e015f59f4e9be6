"""The pieces every check is made of.

A check is a plain function that takes the student's object(s), tests a property and either prints a
one-line pass or raises :class:`CheckFailure`, whose message names the property, the falsifying input,
expected vs got, and a hint. Hypothesis runs derandomized, without an example database and without a
deadline, so the same submission always gets the same verdict and nothing is written to the student's folder.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any, NoReturn

os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "rlir-hypothesis"))

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import HypothesisException  # noqa: E402

from autograder.toolkit.remote import RemoteRef, StudentCodeError, StudentFunction  # noqa: E402

GRADING_SETTINGS = dict(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
)


class CheckFailure(AssertionError):
    """A property of the student's code does not hold; the message says which, where and why."""

    def __init__(self, prop: str, falsifying_input: str, expected: str, got: str, hint: str,
                 fatal: bool = False) -> None:
        self.prop, self.falsifying_input, self.expected, self.got, self.hint = (
            prop, falsifying_input, expected, got, hint)
        self.fatal = fatal  # the student's process hung or died: calling it again is pointless
        super().__init__(self.render())

    def render(self) -> str:
        return (f"Property failed: {self.prop}\n"
                f"  Input:    {self.falsifying_input}\n"
                f"  Expected: {self.expected}\n"
                f"  Got:      {self.got}\n"
                f"  Hint:     {self.hint}")


def fail(prop: str, falsifying_input: str, expected: Any, got: Any, hint: str) -> NoReturn:
    """Raise a :class:`CheckFailure` with the values rendered readably."""
    raise CheckFailure(prop, falsifying_input, show(expected), show(got), hint)


def expect(condition: bool, prop: str, falsifying_input: str, expected: Any, got: Any, hint: str) -> None:
    """Fail with a full message unless ``condition`` holds (for hidden tests written inline)."""
    if not condition:
        fail(prop, falsifying_input, expected, got, hint)


def show(value: Any, limit: int = 600) -> str:
    """A compact, readable rendering of a value for a failure message."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, suppress_small=True, threshold=60, max_line_width=100)
        text = text.replace("\n", "\n            ")
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def passed(name: str, detail: str = "") -> None:
    """Print the one line that a passing check shows."""
    print(f"PASSED {name}" + (f" ({detail})" if detail else ""))


def call_student(prop: str, falsifying_input: str, function: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call student code; turn anything it raises into a :class:`CheckFailure` that says so."""
    try:
        return function(*args, **kwargs)
    except CheckFailure:
        raise
    except StudentCodeError as error:
        detail = f"{error}\n            {error.student_traceback.strip()}".rstrip() if error.student_traceback \
            else str(error)
        raise CheckFailure(prop, falsifying_input, "a normal return", detail, _hint_for(error),
                           fatal=error.kind in FATAL_KINDS) from None
    except Exception as error:  # noqa: BLE001 - any student exception is a failed property
        raise CheckFailure(prop, falsifying_input, "a normal return", f"{type(error).__name__}: {error}",
                           "run your function on this input yourself and read the traceback") from None


FATAL_KINDS = ("timeout", "crash", "huge", "garbled")


def _hint_for(error: StudentCodeError) -> str:
    if error.kind == "timeout":
        return "look for a loop whose exit condition is never met"
    if error.kind == "missing":
        return "keep the function name and signature exactly as given in the assignment"
    if error.kind == "crash":
        return "do not end the process; raise an exception or return instead"
    return "run your function on this input yourself and read the traceback"


def for_all(strategy: st.SearchStrategy, prop: Callable[[Any], None], *, max_examples: int = 100) -> None:
    """Run ``prop`` on examples drawn from ``strategy``; re-raise the shrunk :class:`CheckFailure`."""

    fatal: list[CheckFailure] = []

    @settings(max_examples=max_examples, **GRADING_SETTINGS)
    @given(strategy)
    def run(example: Any) -> None:
        if fatal:  # replay the same failure without calling the student's code again
            raise fatal[0]
        try:
            prop(example)
        except CheckFailure as failure:
            if failure.fatal:
                fatal.append(failure)
            raise

    try:
        run()
    except CheckFailure:
        raise
    except BaseException as error:
        if fatal:
            raise fatal[0] from None
        failure = _first_check_failure(error)
        if failure is not None:
            raise failure from None
        if isinstance(error, HypothesisException):  # an error in the check itself, never the student's
            raise RuntimeError(f"grader error in a property test: {error}") from error
        raise


def _first_check_failure(error: BaseException) -> CheckFailure | None:
    """The first CheckFailure inside an exception group (hypothesis reports flaky replays as groups)."""
    if isinstance(error, CheckFailure):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = _first_check_failure(inner)
        if found is not None:
            return found
    return None


def repeat_calls(function: Callable, times: int, *args: Any) -> list:
    """Call ``function`` many times with the same arguments; one round trip when it runs in the sandbox."""
    if isinstance(function, StudentFunction):
        return function.repeat(times, *args)
    return [function(*args) for _ in range(times)]


def with_timeout(function: Callable, seconds: float) -> Callable:
    """Give a sandboxed student function a longer time limit (a training run); plain functions unchanged."""
    if isinstance(function, StudentFunction):
        return function.with_timeout(seconds)
    return function


def as_array(prop: str, falsifying_input: str, value: Any, *, shape: tuple | None = None,
             what: str = "the result") -> np.ndarray:
    """Check that ``value`` is array-like of the right shape with finite numbers, and return it as an array."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        fail(prop, falsifying_input, f"{what} as a numeric array", f"{type(value).__name__}: {show(value)}",
             "return a numpy array of numbers")
    if shape is not None and array.shape != shape:
        fail(prop, falsifying_input, f"{what} with shape {shape}", f"shape {array.shape}",
             "check which axis you reduce over and what you return")
    if not np.all(np.isfinite(array)):
        fail(prop, falsifying_input, f"{what} with finite numbers", array, "look for a division by zero or an "
             "overflow")
    return array


# ---------------------------------------------------------------------------------------------------------
# torch helpers: the same check code works on real objects (in the kernel) and on sandbox references
# ---------------------------------------------------------------------------------------------------------
def remote(value: Any) -> Any:
    """The object to call methods on: for a tensor that came back from the sandbox, the student's original
    (with its graph), e.g. ``remote(loss).backward()``; anything else is returned unchanged."""
    if hasattr(value, "__dict__") and "_rlir_remote" in value.__dict__:
        return value.__dict__["_rlir_remote"]
    return value


def had_grad_fn(tensor: Any) -> bool:
    """Whether a tensor the student returned is attached to a computation graph."""
    if hasattr(tensor, "__dict__") and "_rlir_had_grad_fn" in tensor.__dict__:
        return bool(tensor.__dict__["_rlir_had_grad_fn"])
    return getattr(tensor, "grad_fn", None) is not None


def gradients(module: Any) -> dict:
    """``{parameter name: gradient or None}`` of a torch module, wherever it lives."""
    if isinstance(module, RemoteRef):
        return module._rlir_sandbox.remote("grads", module)
    return {name: None if p.grad is None else p.grad.detach().clone() for name, p in module.named_parameters()}
