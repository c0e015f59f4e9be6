"""The jail around the worker: what a student's process may see, who it runs as, and what it may use.

The worker runs in its own network, mount, PID and IPC namespaces (no network at all, its own /proc), as a
fresh unprivileged user when the grader is root, with everything but the interpreter, the course packages and
the folders a grader makes visible covered by empty folders, and the instructor's files hidden even inside
those. Where the machine allows no namespaces the worker runs unjailed, with only its resource limits.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from autograder.sandbox import worker as _worker


@functools.cache
def network_jail() -> tuple[str, ...]:
    """``unshare --net --mount --pid --fork --`` where the machine allows it: the worker then has no network
    at all (not even loopback), a private view of the file system, and its own process namespace, so that
    nothing it starts (even after ``setsid``) outlives it. Elsewhere nothing."""
    command = ("unshare", "--net", "--mount", "--pid", "--ipc", "--fork", "--kill-child", "--mount-proc", "--")
    try:
        subprocess.run([*command, "true"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ()
    return command


JAILED_WORKDIR = "/tmp/rlir-student"
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
SYSTEM_DIRS = frozenset({"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "dev", "sys"})
# Run by root inside the new namespaces. Each argument pair is (kind, path): a "scratch" folder gets an
# empty writable tmpfs, a "dir" an empty read-only one, a "file" is covered by /dev/null. A path that
# vanished since it was listed needs no cover; any other failure stops the worker (exit 97) rather than
# run it with a leak. Then the worker's own working folder, then exec the worker.
_HIDE_SCRIPT = ('owner=$1; shift; n=$1; shift; while [ "$n" -gt 0 ]; do kind=$1; p=$2; shift 2; n=$((n-1)); '
                'case $kind in '
                'scratch) mount -t tmpfs -o size=64m,mode=1777 none "$p" ;; '
                'dir) mount -t tmpfs -o ro,size=4k,mode=555 none "$p" ;; '
                '*) mount --bind /dev/null "$p" ;; '
                'esac 2>/dev/null || [ ! -e "$p" ] || exit 97; done; '
                f'mkdir -p {JAILED_WORKDIR} && mount -t tmpfs -o size=256m,mode=700 none {JAILED_WORKDIR} '
                f'&& chown "$owner" {JAILED_WORKDIR} && cd {JAILED_WORKDIR} && "$@"; exit $?')
# (the shell stays PID 1, the worker a normal process)

SENSITIVE_NAMES = ("source", "submitted", "autograded", "feedback", "gradebook.db")


def sensitive_paths() -> tuple[str, ...]:
    """What student code must not read: instructor notebooks (solutions, hidden tests), other students'
    work and the gradebook, in the current course folder and in this package's repository, plus any listed
    in ``RLIR_HIDE_PATHS`` (``os.pathsep``-separated). Covered even where they lie inside a visible folder."""
    roots = {Path.cwd(), Path(__file__).resolve().parents[2]}
    paths = [root / name for root in roots for name in SENSITIVE_NAMES]
    paths += [Path(p) for p in os.environ.get("RLIR_HIDE_PATHS", "").split(os.pathsep) if p]
    return tuple(sorted({str(p.resolve()) for p in paths if p.exists()}))


def worker_paths() -> tuple[Path, ...]:
    """The folders the worker needs and may see: the interpreter with its standard library and installed
    packages, and the course's own packages (``autograder``, ``rlir``). Everything else is covered."""
    paths = {*_interpreter_paths(), *course_package_dirs()}
    return tuple(sorted({Path(os.path.realpath(p)) for p in paths if p and os.path.isdir(p)}))


@functools.cache
def _interpreter_paths() -> tuple[str, ...]:
    import sysconfig

    return (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
            os.path.dirname(os.path.realpath(sys.executable)), *sysconfig.get_paths().values())


# The worker imports the very course packages this grader runs (an unpacked Gradescope zip, say), not
# whichever an editable install or the working folder would give it: ``-I`` ignores both, so the roots are
# put first on its path before the worker module runs.
WORKER_BOOT = ("import os, runpy, sys; sys.path[:0] = sys.argv.pop(1).split(os.pathsep); "
                "runpy.run_module('autograder.sandbox.worker', run_name='__main__', alter_sys=True)")


@functools.cache
def course_package_dirs() -> tuple[str, ...]:
    """The folders of this grader's own ``autograder`` and ``rlir`` packages (real paths)."""
    return tuple(_worker.package_dirs())


def package_roots() -> tuple[str, ...]:
    """The folders holding those packages, each once: what the worker puts first on its path."""
    return tuple(dict.fromkeys(os.path.dirname(d) for d in course_package_dirs()))


def _inside(path: Path, folders: set[Path] | tuple[Path, ...]) -> bool:
    return any(path == folder or path.is_relative_to(folder) for folder in folders)


def jail_covers(visible: tuple[Path, ...], hidden: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """What to cover so that the worker sees only ``visible`` folders (and the system's own, at the root):
    every sibling of each folder on the way down to a visible one, plus the ``hidden`` paths and the
    scratch folders. Listed afresh at each start, so a file made since (a new gradebook) is covered too."""
    visible = tuple(sorted(set(visible)))
    ancestors = {parent for path in visible for parent in path.parents}
    covers: list[tuple[str, str]] = []
    for folder in sorted(ancestors):
        if _inside(folder, visible):
            continue
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            path = Path(entry.path)
            if path in ancestors or path in visible or (folder == Path("/") and entry.name in SYSTEM_DIRS):
                continue
            if entry.is_symlink():
                continue  # where it points is covered (or visible) in its own place
            if entry.is_dir(follow_symlinks=False):
                covers.append(("scratch" if entry.path in SCRATCH_DIRS else "dir", entry.path))
            elif entry.is_file(follow_symlinks=False):
                covers.append(("file", entry.path))
    covered = {Path(path) for kind, path in covers if kind != "file"}
    listed = {path for _, path in covers}
    for path in (*hidden, *SCRATCH_DIRS):
        resolved = Path(path)
        if path in listed or not resolved.exists() or resolved in ancestors or _inside(resolved, covered):
            continue  # gone, on the way to a visible folder, or already under a cover
        kind = "scratch" if path in SCRATCH_DIRS else "dir" if resolved.is_dir() else "file"
        covers.append((kind, path))
    return covers


def jail_command(hidden: tuple[str, ...], user: tuple[int, int] | None,
                 visible: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The command prefix that isolates the worker: its own network, mount and process namespaces (with
    its own /proc), and a file system where only the interpreter, the course packages and ``visible``
    folders show; the rest, the ``hidden`` paths and the scratch folders are covered by empty ones."""
    prefix = network_jail()
    if not prefix:
        return ()
    covers = jail_covers((*worker_paths(), *(Path(os.path.realpath(p)) for p in visible)), hidden)
    owner = f"{user[0]}:{user[1]}" if user else "0:0"
    pairs = [item for cover in covers for item in cover]
    return (*prefix, "sh", "-c", _HIDE_SCRIPT, "rlir-jail", owner, str(len(covers)), *pairs)


@functools.cache
def _can_drop_privileges() -> bool:
    import shutil

    return os.geteuid() == 0 and shutil.which("setpriv") is not None


def unprivileged_user() -> tuple[int, int] | None:
    """A fresh (uid, gid) for one worker when the grader runs as root, None otherwise. Student code then
    cannot write the grader's files (the checks, the gradebook, other students' work), and per-user limits
    (processes) are its own: one submission's fork bomb cannot starve another's worker."""
    if not _can_drop_privileges():
        return None
    import secrets

    return 400_000 + secrets.randbelow(1_000_000), 65534


def drop_privileges(user: tuple[int, int] | None) -> tuple[str, ...]:
    if user is None:
        return ()
    return ("setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", "--")


def closed_folder(paths) -> tuple[str, int, str] | None:
    """(folder, mode, path) for the first folder on the way to one of ``paths`` that a user other than its
    owner cannot enter (a home folder of mode 700 or 750), or None when every one can be reached."""
    if unprivileged_user() is None:
        return None  # the worker runs as the grader's own user
    for path in paths:
        for folder in reversed(Path(path).parents):
            try:
                mode = folder.stat().st_mode & 0o777
            except OSError:
                continue
            if not mode & 0o001:
                return str(folder), mode, str(path)
    return None


def die_with_parent() -> None:
    """In the child before exec: killed when the grader dies (say, a batch job killed at its time-out), and
    with it, through the jail's PID namespace, everything the student's code started."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
