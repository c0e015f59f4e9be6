"""Run a student's code in a separate, limited process and call it from the grader.

The grader never executes student code itself. A :class:`Sandbox` starts a worker process, runs the
student's answer cells there, and hands out :class:`StudentFunction` proxies: calling one sends the
arguments over a pipe, the worker calls the student's function, and the result comes back through the safe
codec. Whatever the student's code does to numpy, to the checks or to the interpreter stays in the worker;
an infinite loop, ``sys.exit``, ``os._exit`` or a memory bomb costs that call, never the grader.
"""

from __future__ import annotations

import base64
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autograder.sandbox.jail import (
    WORKER_BOOT,
    WORKER_FLAGS,
    closed_folder,
    course_package_dirs,
    die_with_parent,
    jail_command,
    jail_mechanism,
    package_roots,
    unprivileged_user,
)
from autograder.sandbox.meter import POLL_SECONDS, Budget, Usage, reading
from autograder.sandbox.policy import (
    DEFAULT_LIMITS,
    Limits,
    Policy,
    interpreter,
    interpreter_paths,
    student_policy,
)
from autograder.sandbox.wire import HEADER as _HEADER
from autograder.sandbox.wire import write_all as _write_all
from autograder.toolkit import codec
from autograder.toolkit.remote import (  # noqa: F401  (the sandbox's public API, with the stand-ins it hands out)
    MachineBusy,
    MissingDefinition,
    RemoteRef,
    SandboxUnavailable,
    StudentCodeError,
    StudentCrash,
    StudentFunction,
    StudentTimeout,
)

DEFAULT_CALL_TIMEOUT = 20.0  # CPU seconds of one call into student code (see meter.py for its wall-clock limits)
DEFAULT_MEMORY_BYTES = DEFAULT_LIMITS.memory_bytes
DEFAULT_CELL_TIMEOUT = 300.0  # nbgrader's Execute.timeout of this course
CELL_GRACE_SECONDS = 5.0  # after a cell's interrupt, before its process is killed
MAX_RESTARTS = 3  # cells that killed or hung the process, before the rest of the notebook is given up


@dataclass
class CellLoad:
    """What happened when one answer cell ran in the worker."""

    filename: str
    ok: bool
    error: str = ""


def _closed_folder_on_the_way() -> tuple[str, int, str] | None:
    """:func:`closed_folder` on the way to what the worker starts from: the course packages and the
    interpreter as it is started and as it is found (a virtual environment's links lead into another folder,
    such as /root/.pyenv). Only where there is no jail: both jails rebuild such a folder as a passable one."""
    if jail_mechanism():
        return None
    return closed_folder((*package_roots(), *course_package_dirs(), interpreter(), os.path.realpath(interpreter()),
                          *interpreter_paths()))


@dataclass
class Sandbox:
    """One worker process holding one student's definitions."""

    sources: list[tuple[str, str]]
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    load_timeout: float = 60.0
    limits: Limits = DEFAULT_LIMITS  # the worker's resource limits (see policy.py)
    memory_bytes: int | None = None  # overrides limits.memory_bytes
    hidden_paths: tuple[str, ...] | None = None  # default: the course's sensitive paths, see sensitive_paths()
    visible_paths: tuple[str, ...] = ()  # folders shown to the worker besides the interpreter and course packages
    loads: list[CellLoad] = field(default_factory=list)
    # Notebook semantics (see ``notebook.py``): each source is a cell run by an IPython shell, with its
    # outputs kept; a cell that hangs or kills the process is skipped and the others run again without it.
    notebook: bool = False
    cell_timeout: float = DEFAULT_CELL_TIMEOUT
    files: dict[str, bytes] | None = None  # the submission's other files, placed in the working folder
    extra_env: dict[str, str] = field(default_factory=dict)  # set on top of the policy's environment
    shared_runs: tuple[str, ...] = ()  # functions whose identical calls (same arguments) share one run
    label: str = ""  # whose work this worker runs, shown in its command line (ps), e.g. "dave/dqn"
    outputs: dict[int, list[dict]] = field(default_factory=dict)  # cell index -> outputs of its first run
    restarts: int = 0
    _skip: set[int] = field(default_factory=set)
    _position: int = 0
    _cell_seconds: float = 0.0
    _loads: dict[int, CellLoad] = field(default_factory=dict)
    _last_cell_failure: StudentCodeError | None = None
    current_check: str = ""  # the graded cell being judged: a run is shared across checks, never within one
    _cache: dict[bytes, tuple[str, bytes]] = field(default_factory=dict)
    _process: subprocess.Popen | None = None
    _to_worker: int = -1
    _from_worker: int = -1
    _workdir: tempfile.TemporaryDirectory | None = None
    _failure: StudentCodeError | None = None
    _load_failure: StudentCodeError | None = None
    _budgets: tuple[Budget, ...] = ()  # what every call also spends from: the check's and the submission's
    _sequence: int = 0

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start a fresh worker and run the student's cells in it, in order."""
        self._spawn()
        if self.notebook:
            self._replay()
        else:
            self._run_answer_cells()

    def policy(self, user: tuple[int, int] | None = None) -> Policy:
        """What this sandbox's worker may see and use, run as ``user``: this grader's course packages, the
        folders it was given, its hidden paths (by default the course's, listed now) and its limits."""
        limits = self.limits if self.memory_bytes is None else replace(self.limits, memory_bytes=self.memory_bytes)
        return student_policy(course_package_dirs(), shared=self.visible_paths, hidden=self.hidden_paths,
                              user=user, limits=limits, setenv=self.extra_env)

    def _spawn(self) -> None:
        self.close()
        self._failure = self._load_failure = None
        self._cache.clear()  # references into an earlier worker are gone with it
        if _closed_folder_on_the_way() is not None:
            raise self._unreachable("the sandbox worker cannot start")  # a jail could show them, but their
            # owner closed them to other users; and without bubblewrap the worker could not reach them
        policy = self.policy(unprivileged_user())
        parent_read, child_write = os.pipe()
        child_read, parent_write = os.pipe()
        jail = jail_command(policy)
        if jail_mechanism():
            workdir = policy.workdir  # made by the jail inside the worker's own, empty /tmp
        else:
            self._workdir = tempfile.TemporaryDirectory(prefix="rlir-student-")
            workdir = self._workdir.name
        env = policy.environment(workdir)  # the jail (bubblewrap) sets it again inside; its own PID 1 has it too
        self._process = subprocess.Popen(
            [*jail, interpreter(), *WORKER_FLAGS, "-c", WORKER_BOOT, os.pathsep.join(package_roots()),
             str(child_read), str(child_write), policy.limits.to_argument(), f"rlir-job={self.label or '-'}"],
            pass_fds=(child_read, child_write), cwd="/" if jail_mechanism() else workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent,
        )
        os.close(child_read)
        os.close(child_write)
        self._to_worker, self._from_worker = parent_write, parent_read
        self._handshake()
        if self.files:
            self._request({"op": "write_files", "files": {
                name: base64.b64encode(content).decode("ascii") for name, content in self.files.items()}}, 60.0)

    def _run_answer_cells(self) -> None:
        """Plain ``exec`` of each source within one load budget; a fatal failure stops loading."""
        self.loads = []
        deadline = time.monotonic() + self.load_timeout
        for filename, source in self.sources:
            remaining = deadline - time.monotonic()
            try:
                self._request({"op": "exec", "source": source, "filename": filename}, max(remaining, 0.1))
                self.loads.append(CellLoad(filename, True))
            except StudentCrash as error:
                self.loads.append(CellLoad(filename, False, str(error)))
                self._failure = self._load_failure = error
                return
            except StudentTimeout:
                error = StudentTimeout("timeout", f"running your answer cells took longer than "
                                       f"{self.load_timeout:.0f} s; keep long runs out of the answer cells")
                self.loads.append(CellLoad(filename, False, str(error)))
                self._failure = self._load_failure = error
                return
            except StudentCodeError as error:
                self.loads.append(CellLoad(filename, False, f"{error}\n{error.student_traceback}".strip()))

    # -- notebook semantics ------------------------------------------------------------------------------
    @property
    def cell_seconds(self) -> float:
        """Seconds the student's cells have run so far (replays after a restart included), not counting the time
        they waited for a CPU (see meter.py)."""
        return self._cell_seconds

    @property
    def position(self) -> int:
        """How many cells have run (or been skipped): the state a check made now would see."""
        return self._position

    def run_until(self, stop: int) -> None:
        """Run the cells before index ``stop`` that have not run yet, in order, as Jupyter would. The first
        run's outputs are kept. A cell still running after its interrupt, or one that ends the process, is
        skipped from then on: the worker starts again and runs the cells before it once more, so only what
        depends on that cell is lost."""
        stop = min(stop, len(self.sources))
        if self._position < stop:
            self.ensure_ready()  # a check may have left the worker dead or poisoned: the cells go on in a fresh one
        while self._position < stop and self._load_failure is None:
            index = self._position
            if index not in self._skip:
                reply = self._run_cell(index, keep=True)
                if reply is None:  # the process is gone: start again without that cell
                    if not self._restart():
                        return
                    continue
            self._position += 1

    def _run_cell(self, index: int, keep: bool) -> dict | None:
        """Run one cell; None when it hung or ended the process (it is then marked to be skipped)."""
        filename, source = self.sources[index]
        remaining = self.load_timeout - self._cell_seconds
        if remaining <= 1.0:
            error = StudentTimeout("timeout", f"the notebook's cells took longer than {self.load_timeout:.0f} s "
                                   "in all under grading (not counting time they waited for a CPU); this cell "
                                   "and the rest were not run")
            self._record(index, CellLoad(filename, False, str(error)), [error_output("TimeBudgetExceeded",
                                                                                     str(error))], keep)
            self._skip.add(index)
            return {"failed": True}
        limit = min(self.cell_timeout, remaining)
        root = self._process.pid if self._process is not None else 0
        started, _ = reading(root)
        try:
            # the worker interrupts the cell after `limit` s of its own time; this is the backstop if it does
            # not stop, measured the same way (and past its wall-clock backstop, the machine's failure)
            backstop = Budget(limit + CELL_GRACE_SECONDS, "this cell")
            reply = self._request({"op": "run_cell", "source": source, "timeout": limit}, 0.0,
                                  budgets=(backstop,))["result"]
        except (StudentCrash, StudentTimeout) as error:
            message = str(error).replace("while running your answer cells", "while running this cell") \
                if isinstance(error, StudentCrash) else (
                    f"this cell did not stop within {limit:.0f} s, even when interrupted; it was skipped")
            self._record(index, CellLoad(filename, False, message), [error_output(type(error).__name__, message)],
                         keep)
            self._skip.add(index)
            self._last_cell_failure = error
            return None
        except StudentCodeError as error:  # the worker could not even take the cell
            reply = {"outputs": [error_output("GradingError", str(error))], "failed": True, "error": str(error)}
        finally:  # the notebook's budget counts the cells' own time: what a busy machine adds is not theirs
            self._cell_seconds += (reading(root)[0] - started).own
        self._record(index, CellLoad(filename, not reply["failed"], reply["error"]), reply["outputs"], keep)
        return reply

    def _record(self, index: int, load: CellLoad, outputs: list[dict], keep: bool) -> None:
        if keep:
            self._loads.setdefault(index, load)
            self.outputs.setdefault(index, outputs)
            self.loads = [self._loads[i] for i in sorted(self._loads)]

    def _restart(self) -> bool:
        """A fresh worker with the cells before the current position run again; False past the restart limit."""
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            self._failure = self._load_failure = self._last_cell_failure or StudentCrash(
                "crash", "the process running your code ended too often")
            return False
        self._spawn()
        self._replay()
        return self._load_failure is None

    def _replay(self) -> None:
        """Run again, quietly, the cells that had run before the worker was replaced."""
        for index in range(self._position):
            if index not in self._skip and self._run_cell(index, keep=False) is None:
                self._restart()  # a cell that worked before failed this time: skip it too and start over
                return

    def _handshake(self) -> None:
        """Check the worker answers, with the grader's own course packages, before any student code runs;
        if not, it is an infrastructure error (named with what to do), never a student's zero."""
        try:
            reply = self._request({"op": "ping"}, 60.0)
        except StudentCodeError as error:
            self.close()
            raise self._unreachable(f"the sandbox worker did not start ({error})") from None
        expected = list(course_package_dirs())
        if reply.get("packages") != expected:
            self.close()  # it fell back on another copy (an editable install, say): it would grade other code
            raise self._unreachable(f"the sandbox worker imported the course packages from {reply.get('packages')}, "
                                    f"not from the grader's own {expected}")
        if reply.get("python") != sys.version:
            self.close()  # another interpreter answered (one it could reach where the grader's is closed to it)
            raise self._unreachable(f"the sandbox worker runs Python {reply.get('python')}, not the grader's "
                                    f"{sys.version}")

    @staticmethod
    def _unreachable(what: str) -> SandboxUnavailable:
        closed = _closed_folder_on_the_way()
        if closed is not None:
            folder, mode, inside = closed
            return SandboxUnavailable(
                f"{what}: the sandbox user cannot enter {folder} (mode {mode:o}), which holds {inside}. Let "
                f"others pass through it without listing it (`chmod o+x {folder}`), or keep the course and its "
                "virtual environment outside it (e.g. under /srv)")
        return SandboxUnavailable(f"{what}; check that the grader's Python ({interpreter()}) and its course "
                                  "packages are readable by the sandbox user")

    def ensure_ready(self) -> None:
        """Restart the worker if an earlier check left it dead or poisoned (not if loading itself failed:
        that would fail the same way again, and every check already reports it)."""
        if self._load_failure is not None:
            return
        if self._process is None or self._process.poll() is not None or self._failure is not None:
            self.start()

    def set_budgets(self, *budgets: Budget) -> None:
        """The budgets every call spends from besides its own (one check's, the submission's), in CPU seconds of
        the student's code; a call fails at once when one of them has run out. None given: no such budget."""
        self._budgets = budgets

    def close(self) -> None:
        """Stop the worker and everything it started."""
        if self._process is not None:
            try:
                os.killpg(self._process.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self._process.wait()
            self._process = None
        for fd in (self._to_worker, self._from_worker):
            if fd >= 0:
                os.close(fd)
        self._to_worker = self._from_worker = -1
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------------------
    def function(self, name: str) -> StudentFunction:
        """A callable proxy for the student's ``name``."""
        return StudentFunction(self, name)

    def defines(self, names: list[str]) -> dict[str, bool]:
        """Which of ``names`` the student's cells define."""
        self.ensure_ready()
        return self._request({"op": "has", "names": names}, self.call_timeout)["result"]

    def call(self, name: str, args: tuple, kwargs: dict, *, times: int | None = None,
             timeout: float | None = None) -> Any:
        """Call the student's function in the worker; copy in-place changes back into array arguments."""
        if self._failure is not None:
            raise type(self._failure)(self._failure.kind, f"{self._failure} (an earlier call already failed "
                                      "this way, so this check stops calling your code)")
        if self._process is None:
            self.start()
            if self._failure is not None:
                return self.call(name, args, kwargs, times=times, timeout=timeout)
        budgets = self._call_budgets(timeout)
        request = {"op": "repeat" if times else "call", "name": name, "args": list(args), "kwargs": kwargs}
        if times:
            request["times"] = times
        key = codec.dumps(request) if name in self.shared_runs else None
        shared = self._cache.get(key) if key is not None else None
        if shared is not None and shared[0] != self.current_check:  # another check already made this run
            return self._finish_call(name, args, codec.loads(shared[1]))
        raw: list[bytes] = []  # (a check that repeats a run on purpose, e.g. for determinism, runs it again)
        reply = self._request(request, 0.0, name=name, raw=raw, budgets=budgets)
        if key is not None and raw:
            self._cache.setdefault(key, (self.current_check, raw[0]))
        return self._finish_call(name, args, reply)

    def _finish_call(self, name: str, args: tuple, reply: dict) -> Any:
        if reply["status"] == "missing":
            raise MissingDefinition("missing", f"`{name}` is not defined: define it in an answer cell "
                                    "(the cells between BEGIN SOLUTION and END SOLUTION)")
        for sent, returned in zip(args, reply["args"], strict=False):
            _copy_back(sent, returned)
        return self._bind(reply["result"])

    def remote(self, op: str, target: RemoteRef, timeout: float | None = None, **fields: Any) -> Any:
        """Apply ``op`` (getattr, call_ref, grads) to an object that lives in the worker."""
        if self._failure is not None:
            raise type(self._failure)(self._failure.kind, f"{self._failure} (an earlier call already failed "
                                      "this way, so this check stops calling your code)")
        budgets = self._call_budgets(timeout)
        request = {"op": op, "target": target, **fields}
        reply = self._request(request, 0.0, name=f"{target._rlir_type}.{fields.get('name', op)}", budgets=budgets)
        return self._bind(reply["result"])

    def _call_budgets(self, timeout: float | None) -> tuple[Budget, ...]:
        """The budgets one call spends from: its own ``timeout`` (CPU seconds), then the check's and the
        submission's; fails at once if one of those has already run out."""
        for budget in self._budgets:
            kind = budget.overrun()
            if kind:
                raise self._fail(_budget_error(budget, kind))
        return (Budget(timeout or self.call_timeout, "one call"), *self._budgets)

    def _bind(self, value: Any) -> Any:
        """Turn reference stubs in a decoded reply into live :class:`RemoteRef` proxies."""
        if isinstance(value, codec.RefStub):
            return RemoteRef(self, value.ref_id, value.type_name, value.text)
        if isinstance(value, list):
            return [self._bind(v) for v in value]
        if isinstance(value, tuple):
            items = [self._bind(v) for v in value]
            return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
        if isinstance(value, dict):
            return {k: self._bind(v) for k, v in value.items()}
        stub = getattr(value, "__dict__", {}).get("_rlir_stub") if hasattr(value, "__dict__") else None
        if isinstance(stub, codec.RefStub):
            value.__dict__["_rlir_ref_id"] = stub.ref_id
            value.__dict__["_rlir_remote"] = RemoteRef(self, stub.ref_id, "Tensor", "")
        return value

    def _request(self, request: dict, timeout: float, name: str = "", raw: list | None = None,
                 budgets: tuple[Budget, ...] = ()) -> dict:
        """Send ``request`` and wait for its reply: ``timeout`` wall seconds, or, with ``budgets``, as long as
        none of them runs out (the worker's usage is measured while it runs and spent from each)."""
        self._sequence += 1
        meter = _Meter(self, budgets) if budgets else None
        deadline = time.monotonic() + timeout
        try:
            payload = codec.dumps(request)
            _write_all(self._to_worker, _HEADER.pack(len(payload), self._sequence) + payload)
            while True:  # replies to other requests (e.g. sent by a process the student forked) are dropped
                header = self._read(_HEADER.size, deadline - time.monotonic(), timeout, meter)
                length, reply_id = _HEADER.unpack(header)
                if length > codec.MAX_MESSAGE_BYTES:
                    raise self._fail(StudentCrash("huge", f"`{name}` returned {length / 1e6:.0f} MB of data; "
                                                  "return only what the function should"))
                data = self._read(length, deadline - time.monotonic(), timeout, meter)
                if reply_id == self._sequence:
                    reply = codec.loads(data)
                    if raw is not None and reply.get("status") == "ok":
                        raw.append(data)
                    break
        except (BrokenPipeError, EOFError):
            code = self._process.wait() if self._process else None
            raise self._fail(StudentCrash("crash", _describe_exit(code, name))) from None
        except codec.CodecError as error:
            raise self._fail(StudentCrash("garbled", f"the result of `{name}` could not be read: {error}")) from None
        finally:
            if meter is not None:
                meter.settle()
        for budget in budgets:  # a call that returned past a budget between two readings: the same verdict as
            if budget.overrun() == "cpu":  # one a reading caught, however loaded the machine was
                raise _budget_error(budget, "cpu")
        if reply["status"] == "error":
            error = reply["error"]
            raise StudentCodeError("exception", f"{error['type']}: {error['message']}", error["traceback"])
        return reply

    def _read(self, n: int, remaining: float, timeout: float, meter: _Meter | None = None) -> bytes:
        deadline = time.monotonic() + max(remaining, 0.0)
        chunks = []
        while n:
            remaining = POLL_SECONDS if meter is not None else deadline - time.monotonic()
            ready, _, _ = select.select([self._from_worker], [], [], max(remaining, 0))
            if not ready and meter is not None:
                meter.check()  # raises when a budget ran out
                continue
            if not ready:
                self._kill()
                raise self._fail(StudentTimeout("timeout", f"your code did not return within {timeout:.0f} s "
                                                "(an infinite loop, or far too much work?)"))
            chunk = os.read(self._from_worker, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            try:
                os.killpg(self._process.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self._process.wait()

    def _fail(self, error: Exception) -> Exception:
        self._kill()
        self._failure = error
        return error


class _Meter:
    """The worker's usage during one request, checked against ``budgets`` while it runs and spent from
    them when it ends (see meter.py)."""

    def __init__(self, sandbox: Sandbox, budgets: tuple[Budget, ...]) -> None:
        self.sandbox, self.budgets = sandbox, budgets
        self.root = sandbox._process.pid if sandbox._process is not None else 0
        self.start, _ = reading(self.root)
        self.settled = False

    def used(self) -> tuple[Usage, bool]:
        now, known = reading(self.root)
        return now - self.start, known

    def check(self) -> None:
        used, known = self.used()
        for budget in self.budgets:
            kind = budget.overrun(used, known)
            if kind:
                self.settle(used)
                raise self.sandbox._fail(_budget_error(budget, kind))

    def settle(self, used: Usage | None = None) -> None:
        """Spend what the request used from every budget (once)."""
        if not self.settled:
            self.settled = True
            used = used if used is not None else self.used()[0]
            for budget in self.budgets:
                budget.spend(used)


def _budget_error(budget: Budget, kind: str) -> Exception:
    """What running out of ``budget`` that way is: the student's timeout, or the machine's failure."""
    if kind == "machine":
        return MachineBusy("busy", budget.describe(kind))
    return StudentTimeout("timeout", budget.describe(kind))


def _describe_exit(code: int | None, name: str) -> str:
    what = f"while running `{name}`" if name else "while running your answer cells"
    if code is not None and code > 128 and jail_mechanism():
        code = -(code - 128)  # the jail's PID 1 (bwrap, or the fallback's shell) reports a signal as 128 + it
    if code is not None and code < 0:
        signal_name = {9: "SIGKILL (out of memory?)", 11: "SIGSEGV", 6: "SIGABRT"}.get(-code, f"signal {-code}")
        return f"the process running your code was killed by {signal_name} {what}"
    return f"the process running your code exited (code {code}) {what}: do not call os._exit or exit()"


def _copy_back(sent: Any, returned: Any) -> None:
    """Mirror an in-place change the student's function made to an array or RNG argument."""
    if isinstance(sent, np.ndarray) and isinstance(returned, np.ndarray):
        if returned.shape == sent.shape and sent.flags.writeable:
            sent[...] = returned
    elif isinstance(sent, np.random.Generator) and isinstance(returned, np.random.Generator):
        sent.bit_generator.state = returned.bit_generator.state


def error_output(name: str, message: str) -> dict:
    """An nbformat error output, for a cell the grader had to stop."""
    return {"output_type": "error", "ename": name, "evalue": message, "traceback": [f"{name}: {message}"]}
