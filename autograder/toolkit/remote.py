"""What a check needs to know about where the student's code runs, and nothing that runs it.

The errors a call into student code can end in, and the stand-ins the grader's sandbox hands to checks: a
:class:`StudentFunction` (a student's function, called in the worker) and a :class:`RemoteRef` (an object
that stays in the student's process), and what a check may ask of any value: its class name
(:func:`type_name`) and whether it is such a stand-in (:func:`in_student_process`). In the student's own kernel
neither stand-in exists: the checks get the student's objects themselves. The sandbox (``autograder.sandbox``)
is grading machinery and is not in the student distribution; this module is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograder.sandbox import Sandbox


class StudentCodeError(Exception):
    """The student's code raised, hung, exited, or returned something that cannot be judged."""

    def __init__(self, kind: str, message: str, student_traceback: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.student_traceback = student_traceback


class SandboxUnavailable(RuntimeError):
    """The worker could not start before any student code ran: the grading machine's fault, never the
    student's (e.g. the grader's Python is not readable by the unprivileged user)."""


class MachineBusy(RuntimeError):
    """The grading machine, not the student's code, ran out: a call's wall-clock backstop passed before the
    student's code had used its CPU budget (the machine kept it waiting for a CPU). Never a student's 0: the
    grader reports it as its own failure."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class StudentTimeout(StudentCodeError):
    """A call did not return within its time limit."""


class StudentCrash(StudentCodeError):
    """The process running the student's code ended (``os._exit``, a segfault, out of memory)."""


class MissingDefinition(StudentCodeError):
    """The name the check needs is not defined by the student's answer cells."""


class RemoteRef:
    """An object that lives in the student's process (their network, a distribution, a tensor's graph):
    attribute access and calls are forwarded to the worker, results come back as data or as more refs."""

    def __init__(self, sandbox: Sandbox, ref_id: int, type_name: str, text: str) -> None:
        self.__dict__.update(_rlir_sandbox=sandbox, _rlir_ref_id=ref_id, _rlir_type=type_name, _rlir_text=text)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._rlir_sandbox.remote("getattr", self, name=name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._rlir_sandbox.remote("call_ref", self, args=list(args), kwargs=kwargs)

    def __len__(self) -> int:
        return int(self._rlir_sandbox.remote("getattr", self, name="__len__")())

    def __getitem__(self, key: Any) -> Any:
        return self._rlir_sandbox.remote("getattr", self, name="__getitem__")(key)

    def __repr__(self) -> str:
        return f"<student {type_name(self)} {self._rlir_text}>"


class StudentFunction:
    """A stand-in for a student's function that runs it in the sandbox when called."""

    def __init__(self, sandbox: Sandbox, name: str, timeout: float | None = None) -> None:
        self._sandbox = sandbox
        self.__name__ = name
        self._timeout = timeout

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._sandbox.call(self.__name__, args, kwargs, timeout=self._timeout)

    def repeat(self, times: int, *args: Any, **kwargs: Any) -> list:
        """Call ``times`` times with the same arguments in one round trip (for frequency tests)."""
        return self._sandbox.call(self.__name__, args, kwargs, times=times, timeout=self._timeout)

    def with_timeout(self, seconds: float) -> StudentFunction:
        """The same function with a budget of ``seconds`` of CPU per call, for training runs."""
        return StudentFunction(self._sandbox, self.__name__, seconds)

    def __repr__(self) -> str:
        return f"<student function {self.__name__}>"


def type_name(value: Any) -> str:
    """The class name of a student's object, wherever it lives: a reference names the class in the student's
    process, so a failure message says what the student returned, not that it was a stand-in."""
    if isinstance(value, RemoteRef):
        return value.__dict__["_rlir_type"]
    return type(value).__name__


def in_student_process(value: Any) -> bool:
    """Whether ``value`` is a stand-in for a function or object in the student's process, so that whatever is
    passed to it travels over the wire (and a recipe is built there)."""
    return isinstance(value, (StudentFunction, RemoteRef))
