"""What a student's code has used of a time budget, measured from outside its process so that it cannot lie.

A budget is counted in CPU seconds of the worker's process tree (every process the worker started, every thread,
and the children they reaped), read by the grader from ``/proc``: the same number on a quiet machine and on one
with a load of 9 on 2 cores, so a correct solution's verdict does not depend on what else the machine runs. Two
wall-clock limits keep code that does not compute from running for ever: its *own time* (the wall clock minus
the time its threads waited, ready to run, for a CPU: sleeping and blocking count, the machine's load does not)
may be at most ``IDLE_FACTOR`` times the budget, and past ``WALL_BACKSTOP_FACTOR`` times the budget of plain wall
clock the machine, not the student, ran out: that is reported as the grader's failure, never as a student's 0.
Nothing here starts or stops a process.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

WALL_BACKSTOP_FACTOR = 10.0  # wall seconds per budgeted CPU second before the machine is deemed too busy
IDLE_FACTOR = 2.0  # own seconds (computing, sleeping, blocked) per budgeted CPU second
POLL_SECONDS = 0.5  # how often a running call's usage is read
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    """Seconds a process tree used over some interval: of CPU, waiting ready for a CPU, and of wall clock."""

    cpu: float = 0.0
    waiting: float = 0.0
    wall: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu + other.cpu, self.waiting + other.waiting, self.wall + other.wall)

    def __sub__(self, other: Usage) -> Usage:
        """The usage between two readings (never negative: a process that left the tree takes its share)."""
        return Usage(max(self.cpu - other.cpu, 0.0), max(self.waiting - other.waiting, 0.0),
                     max(self.wall - other.wall, 0.0))

    @property
    def own(self) -> float:
        """Wall seconds not spent waiting for a CPU: what the student's code did with the time it was given."""
        return max(self.wall - min(self.waiting, self.wall), 0.0)


def tree(root: int) -> list[int]:
    """``root`` and every live process below it (from each thread's ``children`` list in ``/proc``, or, on a
    kernel without those lists, from every process's parent)."""
    if os.path.exists(f"/proc/{root}") and not os.path.exists(f"/proc/{root}/task/{root}/children"):
        return _tree_by_parent(root)
    found, index = [root], 0
    while index < len(found):
        pid = found[index]
        index += 1
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as handle:
                    found += [int(child) for child in handle.read().split()]
        except OSError:  # it ended meanwhile
            continue
    return found


def _tree_by_parent(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            children.setdefault(int(data[data.rfind(b")") + 2:].split()[1]), []).append(int(name))
    found, index = [root], 0
    while index < len(found):
        found += children.get(found[index], [])
        index += 1
    return found


def _process_cpu(pid: int) -> float:
    """CPU seconds of one process: all its threads (ended ones too) and the children it reaped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return 0.0
    fields = data[data.rfind(b")") + 2:].split()  # after "pid (comm) ": state is fields[0]
    return sum(int(value) for value in fields[11:15]) / _TICKS  # utime, stime, cutime, cstime


def _process_waiting(pid: int) -> float | None:
    """Seconds the live threads of one process have waited on a run queue (``schedstat``); None if unknown."""
    total = 0.0
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as handle:
                total += int(handle.read().split()[1]) / 1e9
        except FileNotFoundError:
            return None  # a kernel without scheduler statistics
        except (OSError, IndexError, ValueError):
            continue
    return total


def reading(root: int) -> tuple[Usage, bool]:
    """The tree's totals now (wall: the monotonic clock), and whether its waiting time is known."""
    cpu, waiting, known = 0.0, 0.0, True
    for pid in tree(root):
        cpu += _process_cpu(pid)
        wait = _process_waiting(pid)
        if wait is None:
            known = False
        else:
            waiting += wait
    return Usage(cpu, waiting, time.monotonic()), known


@dataclass
class Budget:
    """``cpu_seconds`` of the student's code for ``what`` (a call, a check, a submission's checks), with the
    usage already spent on it; see the module's docstring for its two wall-clock limits."""

    cpu_seconds: float
    what: str
    spent: Usage = field(default_factory=Usage)

    def overrun(self, more: Usage = Usage(), waiting_known: bool = True) -> str:
        """What ran out if ``more`` were spent too: "cpu" (the student's code computed too long), "idle" (it
        slept or blocked too long), "machine" (the wall clock ran out first: the grader's failure), or ""."""
        used = self.spent + more
        if used.cpu > self.cpu_seconds:
            return "cpu"
        if waiting_known and used.own > IDLE_FACTOR * self.cpu_seconds:
            return "idle"
        if used.wall > WALL_BACKSTOP_FACTOR * self.cpu_seconds:
            # with no scheduler statistics, code that computed for a quarter of its budget was not just idle
            return "machine" if waiting_known or used.cpu >= 0.25 * self.cpu_seconds else "idle"
        return ""

    def spend(self, used: Usage) -> None:
        self.spent = self.spent + used

    def describe(self, kind: str) -> str:
        """The sentence a failure of ``kind`` reports."""
        used = self.spent
        if kind == "cpu":
            return (f"your code did not return within {self.cpu_seconds:.0f} CPU seconds, the budget of "
                    f"{self.what} (an infinite loop, or far too much work?)")
        if kind == "idle":
            return (f"your code did not return within {IDLE_FACTOR * self.cpu_seconds:.0f} s for {self.what}, "
                    f"most of it not computing (sleeping, or waiting for something that never comes?)")
        return (f"the grading machine was too busy: in {used.wall:.0f} s of wall clock it gave your code "
                f"{used.cpu:.0f} of the {self.cpu_seconds:.0f} CPU seconds of {self.what}. This is the "
                "grader's failure, not a verdict on your code: grade it again on a less loaded machine")
