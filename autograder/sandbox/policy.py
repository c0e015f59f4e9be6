"""What a student's process may see, write and use: one declarative policy, read as data.

A :class:`Policy` says which folders the worker sees read-only (the interpreter, the course packages), which
the grader hands it as they are, which paths stay hidden even inside those, what it may write (its own fresh
scratch folders), who it runs as, that it has no network, which environment variables it finds (an allow-list:
nothing of the grader's own), and its resource :class:`Limits`. ``jail.py`` enforces it (bubblewrap, else
``unshare``); the worker applies the limits to itself; batch grading applies the same limits to each nbgrader
job. Nothing here starts a process.
"""

from __future__ import annotations

import functools
import os
import resource
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

KiB, MiB, GiB = 1024, 1024**2, 1024**3
JAILED_WORKDIR = "/tmp/rlir-student"
SENSITIVE_NAMES = ("source", "submitted", "autograded", "feedback", "gradebook.db")
# What the interpreter and its libraries need of the system, besides the interpreter's own folders: the
# programs and libraries (/usr and its usual links), and of /etc only the dynamic loader's cache and
# configuration (libraries outside /lib and /usr/lib), the time zone, and the fonts matplotlib asks
# fontconfig for. No /etc/passwd (the sandbox's user is in none), no /sys, no /var, no /home.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache",
                "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/fonts")
# Made fresh by the jail, never the host's: its own /proc (its own processes only), a minimal /dev.
FRESH_PATHS = ("/proc", "/dev")
SCRATCH_PATHS = ("/tmp", "/dev/shm")
# The environment of student code, in full: these fixed values, the worker's own folders (its home, temporary
# files, caches; see Policy.environment) and the grader's grading flags. Nothing else of the grader's process
# passes: not its secrets (a gradebook password, a cloud key, a token would reach a failure message, and so the
# feedback), nor its locale or thread settings (every student's code runs alike, whatever the grading machine).
FIXED_ENVIRONMENT = (
    ("LANG", "C.UTF-8"), ("LC_ALL", "C.UTF-8"), ("TZ", "UTC"), ("PYTHONHASHSEED", "0"),
    ("OMP_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1"), ("OPENBLAS_NUM_THREADS", "1"), ("MPLBACKEND", "Agg"),
)
# The only variables taken from the grader's environment, where it sets them: they choose the OpenBLAS kernel
# that computes correctly on this processor (some are misdetected), which is the machine's fact, not a setting.
INHERITED_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SYSTEM_PROGRAMS = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Limits:
    """Resource limits of each process that runs or grades student code (each process, not in sum).

    6 GiB of address space: torch with a course-sized network and replay buffer stays under 2 GiB, the
    grader's own nbgrader process under 1 GiB, and two parallel jobs (grader + worker each) still fit a
    16 GiB machine. 512 processes (threads count too, per user): far above what one notebook starts with
    one BLAS thread, far below what starves the machine. 4096 open files and 1 GiB per written file: far
    above a notebook's needs (a submission's files are at most 50 MB), enough to stop a runaway writer.
    No CPU-time cap by default: the wall-clock budgets bound time, and a CPU cap counts every thread."""

    memory_bytes: int = 6 * GiB
    processes: int = 512
    open_files: int = 4096
    file_bytes: int = 1 * GiB
    cpu_seconds: int = 0  # 0: none

    def rlimits(self, processes: bool = True) -> list[tuple[int, int]]:
        """(resource, value) pairs to set, core dumps always off; a 0 value (or processes=False) sets none."""
        pairs = [(resource.RLIMIT_AS, self.memory_bytes), (resource.RLIMIT_NOFILE, self.open_files),
                 (resource.RLIMIT_FSIZE, self.file_bytes), (resource.RLIMIT_CPU, self.cpu_seconds)]
        if processes:
            pairs.append((resource.RLIMIT_NPROC, self.processes))
        return [(which, value) for which, value in pairs if value > 0] + [(resource.RLIMIT_CORE, 0)]

    def apply(self, processes: bool = True, hard: bool = True) -> None:
        """Set the limits on this process (inherited by what it starts). ``hard`` also lowers the ceiling, so
        that code running here cannot raise them again; a limit is never raised above an inherited ceiling."""
        for which, value in self.rlimits(processes):
            _, ceiling = resource.getrlimit(which)
            value = value if ceiling == resource.RLIM_INFINITY else min(value, ceiling)
            resource.setrlimit(which, (value, value if hard else ceiling))

    def to_argument(self) -> str:
        """The limits as one command-line argument (for the worker)."""
        return ",".join(f"{name}={value}" for name, value in asdict(self).items())

    @classmethod
    def from_argument(cls, text: str) -> Limits:
        names = {f.name for f in fields(cls)}
        pairs = (item.split("=", 1) for item in text.split(",") if item)
        return cls(**{name: int(value) for name, value in pairs if name in names})


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Policy:
    """Everything a student's process may see and use. Paths are absolute real paths."""

    readonly: tuple[str, ...]  # the interpreter and the course packages: seen, never written
    shared: tuple[str, ...] = ()  # folders the grader makes visible, as they are (host permissions apply)
    hidden: tuple[str, ...] = ()  # covered even inside a visible folder (instructor files, gradebooks)
    system: tuple[str, ...] = SYSTEM_PATHS  # read-only, where they exist
    scratch: tuple[str, ...] = SCRATCH_PATHS  # fresh, empty, writable, gone with the worker
    workdir: str = JAILED_WORKDIR  # the worker's own fresh folder (its home, its files), inside /tmp
    scratch_bytes: int = 64 * MiB
    workdir_bytes: int = 256 * MiB
    user: tuple[int, int] | None = None  # (uid, gid) of a fresh unprivileged user, or None: the grader's own
    network: str = "none"  # no interface but its own loopback
    limits: Limits = field(default_factory=Limits)
    setenv: tuple[tuple[str, str], ...] = ()  # variables the grader sets on top (its grading flags)

    def environment(self, workdir: str | None = None) -> dict[str, str]:
        """Every variable the worker starts with, and nothing else: :data:`FIXED_ENVIRONMENT`, the programs of
        the interpreter and the system on ``PATH``, the worker's folder (``workdir``, default the jail's) as
        its home, temporary folder and caches, the :data:`INHERITED_ENVIRONMENT` the grader sets, ``setenv``."""
        home = workdir or self.workdir
        env = dict(FIXED_ENVIRONMENT)
        env.update(PATH=os.path.dirname(interpreter()) + os.pathsep + SYSTEM_PROGRAMS, HOME=home, TMPDIR=home,
                   MPLCONFIGDIR=os.path.join(home, ".matplotlib"), IPYTHONDIR=os.path.join(home, ".ipython"),
                   HYPOTHESIS_STORAGE_DIRECTORY=os.path.join(home, ".hyp"))
        env.update((name, os.environ[name]) for name in INHERITED_ENVIRONMENT if name in os.environ)
        env.update(self.setenv)
        return env

    def visible(self) -> tuple[str, ...]:
        """Every host path the worker sees (system, read-only and shared), where it exists."""
        return tuple(p for p in (*self.system, *self.readonly, *self.shared) if os.path.lexists(p))

    def entries(self, folder: str) -> set[str]:
        """The names the worker may find in ``folder``: all of a visible folder's (hidden ones empty), else
        only the steps towards visible paths, the scratch folders, the workdir and the fresh ones."""
        folder_path = Path(folder)
        if _inside(folder_path, {Path(p) for p in self.visible()}):
            return set(os.listdir(folder)) if os.path.isdir(folder) else set()  # (hidden ones show empty)
        targets = (*self.visible(), *self.scratch, self.workdir, *FRESH_PATHS)
        return {Path(t).relative_to(folder_path).parts[0] for t in targets
                if Path(t) != folder_path and Path(t).is_relative_to(folder_path)}

    def describe(self) -> str:
        """The policy as it reads, one rule a line."""
        who = f"uid {self.user[0]}, gid {self.user[1]}, no capabilities" if self.user else "the grader's own user"
        limits = self.limits
        lines = [
            "student process policy",
            "  sees read-only:  " + _paths(self.readonly),
            "  sees as shared:  " + (_paths(self.shared) or "nothing"),
            "  system:          " + _paths(p for p in self.system if os.path.lexists(p))
            + "; its own /proc and a minimal /dev",
            "  hidden inside:   " + (_paths(self.hidden) or "nothing"),
            f"  writes:          fresh {', '.join(self.scratch)} ({self.scratch_bytes // MiB} MiB each) and its "
            f"own {self.workdir} ({self.workdir_bytes // MiB} MiB); nothing else",
            f"  runs as:         {who}",
            "  environment:     only " + " ".join(f"{k}={v}" for k, v in self.environment().items())
            + f" ({', '.join(INHERITED_ENVIRONMENT)} copied where the grader sets them); nothing of the grader's",
            f"  network:         {self.network}",
            f"  limits:          {limits.memory_bytes / GiB:g} GiB address space, {limits.processes} processes, "
            f"{limits.open_files} open files, {limits.file_bytes / GiB:g} GiB per file, "
            + (f"{limits.cpu_seconds} s CPU" if limits.cpu_seconds else "no CPU cap (wall-clock budgets)"),
            "  everything else: absent",
        ]
        return "\n".join(lines)

    __str__ = describe


def _paths(paths) -> str:
    return ", ".join(paths)


def _inside(path: Path, folders) -> bool:
    return any(path == folder or path.is_relative_to(folder) for folder in folders)


def sensitive_paths() -> tuple[str, ...]:
    """What student code must not read: instructor notebooks (solutions, hidden tests), other students'
    work and the gradebook, in the current course folder and in this package's repository, plus any listed
    in ``RLIR_HIDE_PATHS`` (``os.pathsep``-separated). Covered even where they lie inside a visible folder."""
    roots = {Path.cwd(), Path(__file__).resolve().parents[2]}
    paths = [root / name for root in roots for name in SENSITIVE_NAMES]
    paths += [Path(p) for p in os.environ.get("RLIR_HIDE_PATHS", "").split(os.pathsep) if p]
    return tuple(sorted({str(p.resolve()) for p in paths if p.exists()}))


def interpreter() -> str:
    """The grader's Python as the worker must start it: its folder resolved (the jail binds real paths only, so a
    link to the virtual environment, as an unpacked Gradescope zip has, would not exist inside), its own name
    kept (resolving the file itself would leave the virtual environment for the base interpreter)."""
    return os.path.join(os.path.realpath(os.path.dirname(sys.executable)), os.path.basename(sys.executable))


@functools.cache
def interpreter_paths() -> tuple[str, ...]:
    """The interpreter's folders: its prefixes, its executable's folder, its standard library and packages."""
    import sysconfig

    paths = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), *sysconfig.get_paths().values())
    return tuple(sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)}))


def student_policy(package_dirs: tuple[str, ...], *, shared: tuple[str, ...] = (),
                   hidden: tuple[str, ...] | None = None, user: tuple[int, int] | None = None,
                   limits: Limits = DEFAULT_LIMITS, setenv: dict[str, str] | None = None) -> Policy:
    """The policy of one worker: the interpreter and ``package_dirs`` read-only, ``shared`` as they are,
    ``hidden`` (default: :func:`sensitive_paths`, listed now, so a gradebook made since is hidden too), and
    ``setenv`` on top of the fixed environment."""
    readonly = tuple(sorted({*interpreter_paths(), *(os.path.realpath(p) for p in package_dirs)}))
    return Policy(readonly=readonly, shared=tuple(os.path.realpath(p) for p in shared),
                  hidden=tuple(hidden if hidden is not None else sensitive_paths()), user=user, limits=limits,
                  setenv=tuple(sorted((setenv or {}).items())))
