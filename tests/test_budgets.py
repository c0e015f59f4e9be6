"""A check's time budget counts the CPU seconds of the student's process tree (autograder/sandbox/meter.py), so
a verdict does not depend on the machine's load: correct code keeps its points on a saturated machine, too much
work fails whatever the load, code that sleeps still stops, and when the machine rather than the student ran
out of time, grading says so instead of giving a 0."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from autograder.grading.notebook import grade_notebook, read_notebook
from autograder.sandbox import Budget, MachineBusy, Sandbox, StudentTimeout, meter
from autograder.sandbox.meter import Usage
from tests.helpers import busy_machine, source_notebook

WORK = '''
import os, time

def work(seconds):
    """Compute for ``seconds`` of CPU time, whatever the wall clock says."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return seconds

def work_in_a_child(seconds):
    """The same work done by a child process the function waits for."""
    pid = os.fork()
    if pid == 0:
        work(seconds)
        os._exit(0)
    os.waitpid(pid, 0)
    return seconds

def nap(seconds):
    time.sleep(seconds)
    return seconds
'''


def sandbox(**options) -> Sandbox:
    return Sandbox([("<cell answer_work>", WORK)], **options)


def test_a_call_within_its_cpu_budget_returns_on_a_saturated_machine():
    with sandbox(call_timeout=1.5) as box, busy_machine() as spinners:
        started = time.monotonic()
        assert box.function("work")(1.0) == 1.0
        took = time.monotonic() - started
    assert spinners >= 3
    print(f"1.0 CPU s took {took:.1f} s of wall clock beside {spinners} spinning processes")


def test_cpu_spent_by_child_processes_counts_and_too_much_work_fails_as_the_students():
    with sandbox(call_timeout=1.0) as box:
        with pytest.raises(StudentTimeout, match="did not return within 1 CPU seconds"):
            box.function("work_in_a_child")(3.0)
        box.ensure_ready()
        assert box.function("work_in_a_child")(0.3) == 0.3


def test_a_checks_budget_is_spent_by_all_its_calls():
    with sandbox(call_timeout=5.0) as box:
        check = Budget(1.0, "this check")
        box.set_budgets(check)
        box.function("work")(0.6)
        assert 0.5 <= check.spent.cpu <= 1.0, check.spent
        with pytest.raises(StudentTimeout, match="the budget of this check"):
            box.function("work")(0.6)
        with pytest.raises(StudentTimeout):  # the same check stops calling at once
            box.function("work")(0.0)


def test_code_that_sleeps_stops_after_its_own_time_runs_out():
    with sandbox(call_timeout=0.5) as box:
        started = time.monotonic()
        with pytest.raises(StudentTimeout, match="not computing"):
            box.function("nap")(60)
        assert time.monotonic() - started < 10


def test_when_the_wall_clock_runs_out_first_grading_fails_as_the_machines(monkeypatch):
    monkeypatch.setattr(meter, "IDLE_FACTOR", 1e9)  # no own-time limit: only the machine's backstop is left
    monkeypatch.setattr(meter, "WALL_BACKSTOP_FACTOR", 0.1)  # 2 s for a call of the default 20 CPU s
    with sandbox() as box:
        with pytest.raises(MachineBusy, match="grader's failure"):
            box.function("nap")(600)
    nb = read_notebook(source_notebook("tabular_q_learning"))
    kept = {"setup-imports", "answer_greedy_policy", "greedy_policy"}
    nb.cells = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") in kept]
    nb.cells[1].source = "import time\n\ndef greedy_policy(q_table):\n    time.sleep(600)\n"
    started = time.monotonic()
    with pytest.raises(MachineBusy):  # judged twice, then grading itself fails: no verdict, not a 0
        grade_notebook(nb, "tabular_q_learning")
    assert time.monotonic() - started < 60


def test_the_notebooks_cell_budget_does_not_count_time_spent_waiting_for_a_cpu():
    """Eight cells of 0.5 CPU seconds each fit a 12 s budget of the cells' own time, however long the saturated
    machine makes them take on the wall clock."""
    if not Path("/proc/self/schedstat").exists():
        pytest.skip("this kernel keeps no scheduler statistics: the cells' own time is their wall time")
    cells = [("<cell setup>", WORK)] + [(f"<cell {i}>", "work(0.5)") for i in range(8)]
    with busy_machine() as spinners, Sandbox(cells, notebook=True, load_timeout=12.0) as box:
        started = time.monotonic()
        box.run_until(len(cells))
        took = time.monotonic() - started
    assert all(load.ok for load in box.loads), box.loads
    assert box.cell_seconds < 12.0
    print(f"9 cells, 4 CPU s: {took:.1f} s of wall clock beside {spinners} spinning processes, "
          f"{box.cell_seconds:.1f} s of their own time")


@pytest.mark.parametrize("used, known, kind", [
    (Usage(cpu=1.1, waiting=0.0, wall=1.2), True, "cpu"),
    (Usage(cpu=0.1, waiting=0.0, wall=2.5), True, "idle"),  # slept: its own time ran out
    (Usage(cpu=0.9, waiting=9.5, wall=10.5), True, "machine"),  # kept waiting for a CPU: not the student's
    (Usage(cpu=0.9, waiting=8.0, wall=9.5), True, ""),
    (Usage(cpu=0.5, waiting=0.0, wall=10.5), False, "machine"),  # no scheduler statistics: it computed
    (Usage(cpu=0.01, waiting=0.0, wall=10.5), False, "idle"),
])
def test_what_ran_out(used, known, kind):
    assert Budget(1.0, "one call").overrun(used, known) == kind


def test_the_tree_is_the_same_from_children_lists_and_from_parents():
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
                               "time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while len(meter.tree(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(meter.tree(parent.pid)) == 2
        assert sorted(meter.tree(parent.pid)) == sorted(meter._tree_by_parent(parent.pid))
    finally:
        for pid in reversed(meter.tree(parent.pid)):
            os.kill(pid, 9)
        parent.wait()


def test_a_call_that_returns_past_its_budget_between_two_readings_fails_all_the_same(monkeypatch):
    """The verdict does not depend on when the grader happened to read the worker's usage (on a loaded machine a
    call may end before the next reading): with no reading during the calls, the second 0.6 CPU s call still
    overspends the check's 1 CPU s and fails as the student's."""
    import autograder.sandbox.client as client

    monkeypatch.setattr(client, "POLL_SECONDS", 60.0)
    with sandbox(call_timeout=5.0) as box:
        check = Budget(1.0, "this check")
        box.set_budgets(check)
        box.function("work")(0.6)
        with pytest.raises(StudentTimeout, match="the budget of this check"):
            box.function("work")(0.6)
