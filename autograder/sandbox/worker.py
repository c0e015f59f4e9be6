"""The process that runs a student's code for the grader: it executes their answer cells, then calls
their functions on request and answers with the results (see ``client.py`` for the grader's side).

Nothing the grader decides runs here: this process only executes student code and reports what it did.
"""

from __future__ import annotations

import os
import random
import sys
import traceback
from typing import Any

from autograder.sandbox.policy import Limits
from autograder.sandbox.wire import HEADER as _HEADER
from autograder.sandbox.wire import read_exact as _read_exact
from autograder.sandbox.wire import send as _send


def _limit_resources(limits: Limits) -> None:
    """Cap address space, processes, open files, file size (and CPU, if asked) and turn core dumps off, so a
    bomb fails here instead of taking the machine. A fork bomb stops here: processes are counted per user,
    and the sandbox user is not root, so the limit holds."""
    limits.apply()


class _FakeIPython:
    """Stands in for IPython inside the worker: magics such as ``%matplotlib inline`` do nothing here."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _seed_globals(seed: int) -> None:
    """Every call starts from the same global random state, so hidden global RNG use is reproducible."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def _materialise(value: Any) -> Any:
    """Turn wire stand-ins (environments) into live objects for the student's function."""
    from autograder.toolkit.codec import EnvSpecRef

    if isinstance(value, EnvSpecRef):
        import gymnasium as gym

        return gym.make(value.env_id, max_episode_steps=value.max_episode_steps, **value.kwargs)
    return value


def _after_call(value: Any) -> Any:
    """What the grader gets back of an argument after the call (arrays and RNGs may change in place)."""
    import numpy as np

    if isinstance(value, (np.ndarray, np.random.Generator)):
        return value
    return None


def _describe_exception(error: BaseException) -> dict:
    frames = traceback.extract_tb(error.__traceback__)
    student_frames = [f for f in frames if f.filename.startswith(("<cell", "<ipython-input"))]
    lines = traceback.format_list(student_frames[-5:])
    return {
        "type": type(error).__name__,
        "message": str(error)[:2000],
        "traceback": "".join(lines)[-4000:],
    }


def main() -> None:
    read_fd, write_fd, limits = int(sys.argv[1]), int(sys.argv[2]), Limits.from_argument(sys.argv[3])
    worker_pid = os.getpid()
    _limit_resources(limits)
    from autograder.toolkit import codec  # imported before any student code runs

    namespace: dict[str, Any] = {"__name__": "__main__", "get_ipython": _FakeIPython}
    handles: dict[int, Any] = {}
    shell: list[Any] = []  # the IPython shell, made by the first notebook cell

    def register(obj: Any) -> int:
        handles[len(handles) + 1] = obj
        return len(handles)

    def resolve(ref_id: int) -> Any:
        if ref_id not in handles:
            raise codec.CodecError(f"stale reference {ref_id}")
        return handles[ref_id]

    while True:
        try:
            length, request_id = _HEADER.unpack(_read_exact(read_fd, _HEADER.size))
            data = _read_exact(read_fd, length)
        except EOFError:
            return
        try:
            request = codec.loads(data, resolve=resolve)
        except BaseException as error:  # noqa: BLE001 - e.g. a fixture that failed to build
            reply = {"status": "error", "error": _describe_exception(error)}
        else:
            reply = _handle(request, namespace, shell)
        if os.getpid() != worker_pid:  # a process the student forked came back here: it must not answer
            os._exit(0)
        try:
            payload = codec.dumps(reply, register=register)
        except BaseException as error:  # noqa: BLE001 - the result may be anything
            payload = codec.dumps({"status": "error", "error": {
                "type": "UnsendableResult", "message": f"the result could not be sent back: {error}",
                "traceback": ""}})
        _send(write_fd, request_id, payload)


def _write_files(files: dict) -> int:
    """Write ``{relative path: base64 text}`` under the working folder (never outside it)."""
    import base64

    root = os.path.realpath(os.getcwd())
    for relative, content in files.items():
        target = os.path.realpath(os.path.join(root, relative))
        if not target.startswith(root + os.sep):
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(base64.b64decode(content))
    return len(files)


def package_dirs() -> list[str]:
    """The real folders of the ``autograder`` and ``rlir`` packages this interpreter imports (found, not
    run): the grader's own, and what the worker reports in its handshake for the grader to compare."""
    import importlib.util

    dirs = []
    for package in ("autograder", "rlir"):
        spec = importlib.util.find_spec(package)
        dirs += [os.path.realpath(p) for p in (spec.submodule_search_locations or () if spec else ())]
    return dirs


def _handle(request: dict, namespace: dict, shell: list) -> dict:
    op = request["op"]
    try:
        if op == "ping":  # where this worker's course packages come from, and its Python, for the grader to compare
            return {"status": "ok", "packages": package_dirs(), "python": sys.version}
        if op == "run_cell":  # a notebook cell, with Jupyter's semantics and outputs
            from autograder.sandbox import shell as _shell

            if not shell:
                shell.append(_shell.make_shell(namespace))
            _seed_globals(request.get("seed", 0))
            return {"status": "ok", "result": _shell.run_cell(shell[0], request["source"], request["timeout"])}
        if op == "write_files":  # the submission's other files, beside the notebook as in Jupyter
            return {"status": "ok", "result": _write_files(request["files"])}
        if op == "exec":
            _seed_globals(request.get("seed", 0))
            code = compile(request["source"], request["filename"], "exec")
            exec(code, namespace)  # noqa: S102 - running student code is this process's purpose
            return {"status": "ok"}
        if op == "has":
            return {"status": "ok", "result": {name: name in namespace for name in request["names"]}}
        if op in ("call", "repeat"):
            function = namespace.get(request["name"])
            if function is None:
                return {"status": "missing", "name": request["name"]}
            args = [_materialise(a) for a in request["args"]]
            kwargs = {k: _materialise(v) for k, v in request["kwargs"].items()}
            _seed_globals(request.get("seed", 0))
            if op == "call":
                result = function(*args, **kwargs)
            else:
                result = [function(*args, **kwargs) for _ in range(request["times"])]
            return {"status": "ok", "result": result, "args": [_after_call(a) for a in args]}
        if op == "getattr":
            return {"status": "ok", "result": getattr(request["target"], request["name"])}
        if op == "call_ref":
            args = [_materialise(a) for a in request["args"]]
            kwargs = {k: _materialise(v) for k, v in request["kwargs"].items()}
            _seed_globals(request.get("seed", 0))
            return {"status": "ok", "result": request["target"](*args, **kwargs), "args": [None] * len(args)}
        if op == "grads":
            return {"status": "ok", "result": {name: (None if p.grad is None else p.grad.detach().clone())
                                               for name, p in request["target"].named_parameters()}}
        return {"status": "error", "error": {"type": "ProtocolError", "message": op, "traceback": ""}}
    except BaseException as error:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are student errors too
        return {"status": "error", "error": _describe_exception(error)}


if __name__ == "__main__":
    main()
