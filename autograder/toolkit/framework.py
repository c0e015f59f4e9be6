"""The pieces every check is made of.

A check is a plain function that takes the student's object(s), tests a property and either prints a
one-line pass or raises :class:`CheckFailure`, whose message names the property, the falsifying input,
expected vs got, and a hint. Hypothesis runs derandomized, without an example database and without a
deadline, so the same submission always gets the same verdict and nothing is written to the student's folder.
What student code returns is checked by one family of validators (:func:`as_array`, :func:`as_scalar`,
:func:`as_tensor`, :func:`require_tensor`, :func:`as_number`, :func:`as_tuple`), whose advice an assignment
words in its own terms with :class:`Hints`.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "rlir-hypothesis"))

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import example as explicit_example  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import HypothesisException  # noqa: E402

from autograder.toolkit.codec import Fixture  # noqa: E402
from autograder.toolkit.remote import (  # noqa: E402
    MachineBusy,
    RemoteRef,
    StudentCodeError,
    StudentFunction,
    in_student_process,
    type_name,
)

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
    except (CheckFailure, MachineBusy):  # the machine's failure is never the student's
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


def for_all(strategy: st.SearchStrategy, prop: Callable[[Any], None], *, max_examples: int = 100,
            examples: Sequence[Any] = ()) -> None:
    """Run ``prop`` on ``examples`` (explicit ones, first: cases a derandomized draw rarely makes), then on
    ``max_examples`` examples drawn from ``strategy``; re-raise the shrunk :class:`CheckFailure`."""

    fatal: list[CheckFailure | MachineBusy] = []

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
        except MachineBusy as busy:  # the grader's failure: no shrinking, it ends the check as it is
            fatal.append(busy)
            raise

    for explicit in reversed(examples):  # (the drawn examples do not change: they follow run's source)
        run = explicit_example(explicit)(run)
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
    """Give a sandboxed student function a budget of ``seconds`` of CPU per call (a training run; see
    autograder/sandbox/meter.py), instead of the sandbox's default; plain functions unchanged."""
    if isinstance(function, StudentFunction):
        return function.with_timeout(seconds)
    return function


def as_argument(function: Any, recipe: Fixture) -> Any:
    """What to pass to ``function`` for ``recipe``: the recipe itself when ``function`` lives in the student's
    process (it is built there: the wire format carries no such object), else the object built here."""
    return recipe if in_student_process(function) else recipe.build()


def as_tuple(prop: str, falsifying_input: str, value: Any, names: Sequence[str]) -> tuple:
    """``value`` if it is a tuple of one entry per name in ``names`` (what the contract says a function returns)."""
    listed = ", ".join(names)
    if not isinstance(value, tuple) or len(value) != len(names):
        got = f"a tuple of {len(value)} values" if isinstance(value, tuple) else f"{type_name(value)}: {show(value)}"
        fail(prop, falsifying_input, f"a tuple ({listed})", got, f"return {listed}")
    return value


def as_number(prop: str, falsifying_input: str, value: Any, *, what: str = "a float", integer: bool = False,
              hint: str = "return float(...)") -> int | float:
    """A plain number where the contract asks for one (an int when ``integer``): no bool, array or tensor."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds):
        fail(prop, falsifying_input, what, f"{type_name(value)}: {show(value)}", hint)
    return int(value) if integer else float(value)


@dataclass(frozen=True)
class Hints:
    """What a failure of :func:`as_array`, :func:`as_scalar` or :func:`as_tensor` advises, by what is wrong (the
    type, the shape, the size of a scalar, non-finite numbers), so that an assignment can say it in its terms;
    ``type`` None is "return a torch tensor" where a tensor is required, else "return a numpy array of numbers"."""

    type: str | None = None
    shape: str = "check which axis you reduce over and what you return"
    size: str = "reduce to a single number"
    finite: str = "look for a division by zero or an overflow"


GENERAL_HINTS = Hints()


def _torch_tensor_type() -> type | None:
    """``torch.Tensor`` if torch is imported (a value cannot be a tensor otherwise), without importing it."""
    torch = sys.modules.get("torch")
    return None if torch is None else torch.Tensor


def require_tensor(prop: str, falsifying_input: str, value: Any, *, what: str = "the result",
                   shape: tuple | None = None, hint: str = "return a torch tensor") -> Any:
    """``value`` itself if it is a torch tensor (for checks of its dtype or its graph), else a failure."""
    tensor_type = _torch_tensor_type()
    if tensor_type is None or not isinstance(value, tensor_type):
        fail(prop, falsifying_input, f"{what} as a torch.Tensor" + ("" if shape is None else f" of shape {shape}"),
             f"{type_name(value)}: {show(value)}", hint)
    return value


def _float_array(prop: str, falsifying_input: str, value: Any, what: str, shape: tuple | None, tensor: bool,
                 hints: Hints) -> np.ndarray:
    """The student's numbers as a float64 array (a tensor detached from its graph), values not yet checked."""
    if tensor:
        require_tensor(prop, falsifying_input, value, what=what, shape=shape,
                       hint=hints.type or "return a torch tensor")
    tensor_type = _torch_tensor_type()
    try:
        if tensor_type is not None and isinstance(value, tensor_type):
            return value.detach().cpu().numpy().astype(float)
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError, RuntimeError):
        fail(prop, falsifying_input, f"{what} as a numeric array", f"{type_name(value)}: {show(value)}",
             hints.type or "return a numpy array of numbers")


def as_array(prop: str, falsifying_input: str, value: Any, *, shape: tuple | None = None, what: str = "the result",
             tensor: bool = False, hints: Hints = GENERAL_HINTS) -> np.ndarray:
    """The numbers a student returned (array-like or a torch tensor; only a tensor when ``tensor``) as a float64
    array, after checking that they have ``shape`` and are all finite."""
    array = _float_array(prop, falsifying_input, value, what, shape, tensor, hints)
    if shape is not None and array.shape != tuple(shape):
        fail(prop, falsifying_input, f"{what} with shape {tuple(shape)}", f"shape {array.shape}", hints.shape)
    if not np.all(np.isfinite(array)):
        fail(prop, falsifying_input, f"{what} with finite numbers", array, hints.finite)
    return array


def as_scalar(prop: str, falsifying_input: str, value: Any, what: str = "the result", *, tensor: bool = False,
              hints: Hints = GENERAL_HINTS) -> float:
    """The one number a student returned (a number, or an array or tensor of one entry; only a tensor when
    ``tensor``, e.g. a loss to call backward on) as a finite float."""
    array = _float_array(prop, falsifying_input, value, what, None, tensor, hints)
    if array.size != 1:
        fail(prop, falsifying_input, f"{what} as {'a scalar tensor' if tensor else 'one number'}",
             f"{'a tensor' if tensor else 'an array'} of shape {array.shape}", hints.size)
    number = float(array.reshape(()))
    if not math.isfinite(number):
        fail(prop, falsifying_input, f"{what} as a finite number", number, hints.finite)
    return number


def as_tensor(prop: str, falsifying_input: str, value: Any, *, shape: tuple | None = None, what: str = "the result",
              hints: Hints = GENERAL_HINTS) -> Any:
    """A torch tensor the student returned, checked as :func:`as_array` checks it, as a float64 tensor detached
    from the student's graph (for checks that compute on it with torch)."""
    import torch

    return torch.from_numpy(as_array(prop, falsifying_input, value, shape=shape, what=what, tensor=True, hints=hints))


def expect_frequencies(prop: str, falsifying_input: str, samples: np.ndarray, expected: np.ndarray,
                       hint: str) -> None:
    """Fail if a value of probability 0 occurs among ``samples`` (ints in ``range(len(expected))``), or if their
    frequencies differ from ``expected`` by a chi-square test with p < 1e-6 (a correct solution: once in 10^6)."""
    from scipy import stats

    counts = np.bincount(samples, minlength=len(expected))
    observed = counts / len(samples)
    if np.any(counts[expected == 0] > 0):
        fail(prop, falsifying_input, f"frequencies {show(expected)}", f"frequencies {show(observed)}", hint)
    support = expected > 0
    if support.sum() > 1:
        p_value = stats.chisquare(counts[support], expected[support] * len(samples)).pvalue
        if p_value < 1e-6:
            fail(prop, falsifying_input, f"frequencies {show(expected)}", f"frequencies {show(observed)} "
                 f"(chi-square p = {p_value:.1e})", hint)


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


def nonzero_gradients(grads: dict) -> list[str]:
    """The names of the parameters whose gradient (in a :func:`gradients` result) is there and not all zero."""
    return [name for name, g in grads.items() if g is not None and bool(np.any(np.asarray(g) != 0))]


def mlp_parameter_count(sizes: Sequence[int]) -> int:
    """The weights and biases of fully connected layers between consecutive ``sizes`` (what an MLP has)."""
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def parameter_count(prop: str, falsifying_input: str, module: Any) -> int:
    """How many numbers a student's torch module holds (the entries of its ``state_dict()``), wherever it lives."""
    state = call_student(prop, falsifying_input, lambda: module.state_dict())
    if not isinstance(state, dict):
        fail(prop, falsifying_input, "a torch.nn.Module (state_dict() returns a dict)", type_name(state),
             "subclass torch.nn.Module")
    return int(sum(int(np.prod(np.shape(v))) for v in state.values()))
