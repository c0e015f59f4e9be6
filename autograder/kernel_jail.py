"""The student's Jupyter kernel under ``nbgrader autograde``, in the same jail as the check workers.

nbgrader runs each submitted notebook in a kernel. Grades never come from that kernel (``TrustedChecks``
re-judges every graded cell outside it), but the code in it is the student's, so it runs like the check
workers do (see :mod:`autograder.sandbox`): no network, its own processes and /proc, a file system where
only the interpreter, the course packages, its own notebook folder (read-only) and a private scratch
folder show, as a fresh unprivileged user, with memory and process limits.

The kernel talks to nbgrader over Unix sockets (ZeroMQ's ``ipc`` transport), since it has no network: this
launcher gives the kernel a private socket folder and links the paths nbgrader connects to into it. Where
the machine cannot jail (not root, no namespaces), the kernel starts as usual.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import CaselessStrEnum, default

from autograder import sandbox

KERNEL_MEMORY_BYTES = 8 * 1024**3
KERNEL_PROCESSES = 256
# Not under /root (the kernel's user cannot pass it) nor a scratch folder (its parent would then show,
# writable): a folder of its own that others may pass through but not list.
KERNEL_FOLDERS = Path("/var/lib/rlir-kernels")
PARENT_POLL_SECONDS = 0.5
PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


class JailedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start through this module, over the ``ipc`` transport."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    @default("ip")
    def _socket_prefix(self) -> str:
        """Absolute (the default is relative to whichever folder a process is in)."""
        runtime = Path(jupyter_runtime_dir())
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        return str(runtime / f"rlir-{uuid.uuid4().hex}-ipc")

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=[sys.executable, "-m", "autograder.kernel_jail", "-f", "{connection_file}"],
                display_name="Python 3 (rlir sandbox)", language="python", env={}, metadata={})
        return self._kernel_spec


def kernel_environment(workdir: str) -> dict[str, str]:
    """The grader's environment without its secrets (nbgrader's and the course's settings), with the
    student's home and scratch in the private working folder; the checks still know they are deferred."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("RLIR_", "NBGRADER_", "JPY_")) and "TOKEN" not in key and "PASSWORD" not in key}
    if os.environ.get("RLIR_TRUSTED_GRADER"):
        env["RLIR_TRUSTED_GRADER"] = os.environ["RLIR_TRUSTED_GRADER"]
    env.update(HOME=workdir, TMPDIR=workdir, IPYTHONDIR=os.path.join(workdir, ".ipython"),
               MPLCONFIGDIR=os.path.join(workdir, ".matplotlib"), PYTHONHASHSEED="0",
               HYPOTHESIS_STORAGE_DIRECTORY=os.path.join(workdir, ".hyp"))
    return env


def private_connection(connection_file: Path, info: dict, owner: tuple[int, int] | None) -> tuple[Path, Path]:
    """A folder only the kernel's user can write, holding the kernel's own connection file (sockets inside
    that folder) and, at each path nbgrader will connect to, a link to the matching socket."""
    KERNEL_FOLDERS.mkdir(mode=0o711, parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="kernel-", dir=KERNEL_FOLDERS))
    prefix = folder / "kernel"
    for port in PORTS:
        link = Path(f"{info['ip']}-{info[port]}")
        link.unlink(missing_ok=True)
        link.symlink_to(f"{prefix}-{info[port]}")
    own = folder / "connection.json"
    own.write_text(json.dumps(dict(info, ip=str(prefix))))
    if owner is not None:
        for path in (folder, own):
            os.chown(path, *owner)
    own.chmod(0o400)
    folder.chmod(0o700)
    return folder, own


def _limits() -> None:
    """In the child, before exec: memory and process caps, no core files, and death with the launcher."""
    resource.setrlimit(resource.RLIMIT_AS, (KERNEL_MEMORY_BYTES, KERNEL_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_NPROC, (KERNEL_PROCESSES, KERNEL_PROCESSES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # the launcher ignores interrupts; the kernel must not
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _die_with(parent: int, child: subprocess.Popen) -> None:
    """Kill the jailed kernel once nbgrader (this launcher's parent) is gone, e.g. killed by a batch time-out.

    jupyter_client starts the launcher in a session of its own, so killing nbgrader's process group misses
    it; and the kernel no longer sees nbgrader's pid (``JPY_PARENT_PID``) to poll it itself."""
    while child.poll() is None:
        if os.getppid() != parent:
            child.kill()
            return
        time.sleep(PARENT_POLL_SECONDS)


def main(argv: list[str]) -> int:
    parent = os.getppid()
    connection_file = Path(argv[argv.index("-f") + 1]).resolve()
    kernel = [sys.executable, "-m", "ipykernel_launcher"]
    info = json.loads(connection_file.read_text())
    if info.get("transport") != "ipc" or not sandbox._network_jail():
        os.execv(sys.executable, [*kernel, "-f", str(connection_file)])
    user = sandbox._unprivileged_user()
    folder, own = private_connection(connection_file, info, user)
    notebook_folder = os.getcwd()
    jail = sandbox._jail(sandbox.sensitive_paths(), user, visible=(str(folder), notebook_folder))
    enter = ("sh", "-c", 'cd "$1" 2>/dev/null; shift; exec "$@"', "rlir-kernel", notebook_folder)
    command = [*jail, *enter, *sandbox._drop_privileges(user), *kernel, "-f", str(own)]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is for the kernel (same process group)
    try:
        child = subprocess.Popen(command, env=kernel_environment(sandbox.JAILED_WORKDIR), preexec_fn=_limits,
                                 stdin=subprocess.DEVNULL)
        signal.signal(signal.SIGTERM, lambda *_: child.kill())
        threading.Thread(target=_die_with, args=(parent, child), daemon=True).start()
        code = child.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
