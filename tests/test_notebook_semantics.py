"""The grader runs a submission with the notebook's semantics: every code cell the student can see, top to
bottom, each graded cell judged on what the cells above it defined. So what works in the student's Jupyter
grades the same: a helper in a cell they added, a global from a teaching cell, an answer split over two
cells, imports in a cell of their own (each assignment, on one of its functions); and what fails top to
bottom in Jupyter (a helper defined only below the graded cell) fails here too."""

from __future__ import annotations

import copy
import re
import time

import nbformat
import pytest

from autograder.grading.notebook import grade_notebook, read_notebook
from tests.helpers import source_notebook

# assignment -> (a function whose answer cell is rewritten, a function or class used after a teaching cell)
TARGETS = {
    "tabular_q_learning": ("shape_reward", "shape_reward"),
    "dqn": ("linear_schedule", "linear_schedule"),
    "dqn_for_ir": ("masked_argmax", "masked_argmax"),
    "reinforce": ("discounted_returns", "GaussianPolicy"),
    "reinforce_for_ir": ("position_returns", "position_returns"),
    "actor_critic": ("mc_advantages", "mc_advantages"),
    "learning_from_logs": ("ips_estimate", "ips_estimate"),
}


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def answer_index(nb, name: str) -> int:
    (index,) = [i for i, c in enumerate(nb.cells) if _meta(c).get("grade_id") == f"answer_{name}"]
    return index


def graded_ids(nb, name: str) -> set[str]:
    """The graded cells that judge ``name``."""
    return {_meta(c)["grade_id"] for c in nb.cells if _meta(c).get("grade") and not _meta(c).get("solution")
            and re.search(rf"\b{name}\b", c.source)}


def renamed(source: str, name: str, new: str) -> str:
    return re.sub(rf"^(def|class) {name}\b", rf"\1 {new}", source, count=1, flags=re.MULTILINE)


def wrapper(name: str, inner: str, guard: str = "") -> str:
    """``name`` defined as a thin wrapper around ``inner`` (a function or a class)."""
    check = f"    {guard}\n" if guard else ""
    if name[0].isupper():
        return (f"class {name}({inner}):\n    def __init__(self, *args, **kwargs):\n    {check}"
                "        super().__init__(*args, **kwargs)\n")
    return f"def {name}(*args, **kwargs):\n{check}    return {inner}(*args, **kwargs)\n"


def code_cell(source: str):
    return nbformat.v4.new_code_cell(source)


def helper_in_added_cell(nb, name):
    """The work is done by a helper in a cell the student added above the answer cell."""
    index = answer_index(nb, name)
    helper = renamed(nb.cells[index].source, name, f"_helper_{name}")
    nb.cells[index].source = wrapper(name, f"_helper_{name}")
    nb.cells.insert(index, code_cell(helper))


def answer_split_over_two_cells(nb, name):
    """The answer cell calls a function the student defines in the next cell (still above the graded cell)."""
    index = answer_index(nb, name)
    second = renamed(nb.cells[index].source, name, f"_second_part_{name}")
    nb.cells[index].source = wrapper(name, f"_second_part_{name}")
    nb.cells.insert(index + 1, code_cell(second))


def imports_in_own_cell(nb, name):
    """Imports in a cell of the student's own at the top, used by the answer."""
    index = answer_index(nb, name)
    source = nb.cells[index].source
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    kept = "\n".join(line for line in source.splitlines() if line not in imports)
    nb.cells[index].source = renamed(kept, name, f"_plain_{name}") + "\n\n" + wrapper(
        name, f"_plain_{name}", "assert student_math.isclose(student_math.pi, 3.141592653589793)")
    setup = next(i for i, c in enumerate(nb.cells) if _meta(c).get("grade_id") == "setup-imports")
    nb.cells.insert(setup + 1, code_cell("\n".join([*imports, "import math as student_math"])))


def global_from_teaching_cell(nb, name):
    """The answer reads a global that a teaching cell above its graded cell defines."""
    index = answer_index(nb, name)
    first_graded = min(i for i, c in enumerate(nb.cells) if _meta(c).get("grade_id") in graded_ids(nb, name))
    teaching = [i for i, c in enumerate(nb.cells[:first_graded]) if c.cell_type == "code" and not _meta(c)]
    assert teaching, f"no teaching cell above the graded cells of {name}"
    nb.cells[teaching[-1]].source += "\nSTUDENT_SETTING = 'from a teaching cell'\n"
    nb.cells[index].source = renamed(nb.cells[index].source, name, f"_taught_{name}") + "\n\n" + wrapper(
        name, f"_taught_{name}", "assert STUDENT_SETTING == 'from a teaching cell'")


VARIANTS = {"helper_in_added_cell": (helper_in_added_cell, 0), "answer_split_over_two_cells":
            (answer_split_over_two_cells, 0), "imports_in_own_cell": (imports_in_own_cell, 0),
            "global_from_teaching_cell": (global_from_teaching_cell, 1)}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("assignment", TARGETS)
def test_code_outside_the_answer_cell_grades_as_in_jupyter(assignment, variant):
    trusted = read_notebook(source_notebook(assignment))
    transform, which = VARIANTS[variant]
    name = TARGETS[assignment][which]
    nb = copy.deepcopy(trusted)
    transform(nb, name)
    only = graded_ids(trusted, name)
    verdict = grade_notebook(nb, assignment, test_cells_from=trusted, only=only, cell_timeout=60.0)
    assert {c.grade_id for c in verdict.cells} == only
    for cell in verdict.cells:
        assert cell.passed, f"{variant} of {name} lost {cell.grade_id}: {cell.error_name}: {cell.error_message}"


def test_a_helper_defined_only_below_the_graded_cell_fails_as_it_would_top_to_bottom():
    """The issue's reproduction, the other way round: Jupyter run top to bottom fails the graded cell."""
    trusted = read_notebook(source_notebook("tabular_q_learning"))
    nb = copy.deepcopy(trusted)
    index = answer_index(nb, "shape_reward")
    helper = renamed(nb.cells[index].source, "shape_reward", "_shaped")
    nb.cells[index].source = wrapper("shape_reward", "_shaped")
    nb.cells.append(code_cell(helper))  # below every graded cell
    (cell,) = grade_notebook(nb, "tabular_q_learning", test_cells_from=trusted, only={"shape_reward"}).cells
    assert not cell.passed and "_shaped" in cell.error_message


def test_a_later_cell_that_rebinds_a_name_does_not_change_an_earlier_verdict():
    trusted = read_notebook(source_notebook("tabular_q_learning"))
    nb = copy.deepcopy(trusted)
    nb.cells.append(code_cell("def shape_reward(reward, terminated):\n    return 'broken later'\n"))
    verdict = grade_notebook(nb, "tabular_q_learning", test_cells_from=trusted, only={"shape_reward"})
    assert verdict.cells[0].passed, verdict.cells[0].error_message


def test_the_outputs_of_the_one_run_are_the_notebooks_outputs():
    """Each cell's outputs (prints, the last value, figures, errors) come from the run the checks judged."""
    trusted = read_notebook(source_notebook("tabular_q_learning"))
    nb = copy.deepcopy(trusted)
    nb.cells += [code_cell("print('hello from the student')\n6 * 7"),
                 code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"),
                 code_cell("raise ValueError('a broken exploratory cell')"),
                 code_cell("print('the next cell still runs')")]
    verdict = grade_notebook(nb, "tabular_q_learning", test_cells_from=trusted, only=None, cell_timeout=60.0)
    base = len(trusted.cells)
    printed, figure, error, after = (verdict.cell_outputs[base + i] for i in range(4))
    assert printed[0]["text"] == "hello from the student\n" and printed[1]["data"]["text/plain"] == "42"
    assert any("image/png" in o.get("data", {}) for o in figure)
    assert error[-1]["output_type"] == "error" and error[-1]["ename"] == "ValueError"
    assert after[0]["text"] == "the next cell still runs\n"
    assert verdict.points == verdict.max_points == 40


def test_a_hanging_teaching_cell_is_interrupted_and_costs_only_itself():
    trusted = read_notebook(source_notebook("tabular_q_learning"))
    nb = copy.deepcopy(trusted)
    index = answer_index(nb, "shape_reward")
    nb.cells.insert(index, code_cell("while True:\n    pass"))
    nb.cells.insert(index, code_cell("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                                     "while True:\n    pass"))
    verdict = grade_notebook(nb, "tabular_q_learning", test_cells_from=trusted,
                             only={"shape_reward", "greedy_policy"}, cell_timeout=3.0)
    assert all(cell.passed for cell in verdict.cells), [c.error_message for c in verdict.cells]
    assert "interrupted" in verdict.cell_outputs[index + 1][-1]["evalue"]
    assert "even when interrupted" in verdict.cell_outputs[index][-1]["evalue"]


def test_a_cell_time_limit_counts_its_own_time_not_the_machines_load():
    """A cell's limit is its own time (the wall clock less its waits for a CPU), as the checks' budgets are: a
    cell that computes 2.5 CPU seconds on a machine saturated three processes per core is not interrupted at
    a 4 s limit (its wall time is several times that), while a cell that sleeps past it still is."""
    from autograder.sandbox import Sandbox
    from tests.helpers import busy_machine

    compute = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 2.5:\n    pass\n"
    cells = [("<cell 0>", compute), ("<cell 1>", "import time\ntime.sleep(30)\n"), ("<cell 2>", "done = 1\n")]
    with busy_machine(per_core=3), Sandbox(cells, notebook=True, cell_timeout=4.0) as box:
        wall = time.monotonic()
        box.run_until(len(cells))
        wall = time.monotonic() - wall
    loads = {load.filename: load for load in box.loads}
    assert loads["<cell 0>"].ok, (loads["<cell 0>"].error, f"{wall:.1f} s of wall clock for the notebook")
    assert not loads["<cell 1>"].ok and "interrupted" in loads["<cell 1>"].error
    assert loads["<cell 2>"].ok


def test_the_cells_after_a_fork_bomb_still_run_and_are_still_timed():
    """A cell that spends every process the worker may have (threads count against the same limit) leaves
    the cells after it to run as usual: the next answer cell defines its function, and a cell past its
    limit is still interrupted (found when a student's fork bomb cost a later cell its points, flakily)."""
    from autograder.sandbox import Sandbox
    from tests.test_sandbox import require_own_process_count

    require_own_process_count()
    bomb = '''import os, time
def sleeper():
    if os.fork() == 0:
        time.sleep(30)
        os._exit(0)
if os.fork() == 0:  # one child takes back any process slot freed (as a bomb's children still forking do)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            sleeper()
        except OSError:
            time.sleep(0.001)
    os._exit(0)
children = 0
try:
    while True:
        sleeper()
        children += 1
except OSError:
    pass
'''
    cells = [("<cell 0>", "ready = 1\n"), ("<cell 1>", bomb), ("<cell 2>", "def answer():\n    return 42\n"),
             ("<cell 3>", "while True:\n    pass\n"), ("<cell 4>", "def forked():\n    return children, answer()\n")]
    with Sandbox(cells, notebook=True, cell_timeout=3.0) as box:
        box.run_until(len(cells))
        children, answer = box.function("forked")()
    assert children > 10 and answer == 42, "the bomb ran out of processes, and the cells after it ran"
    loads = {load.filename: load for load in box.loads}
    assert loads["<cell 1>"].ok, loads["<cell 1>"].error
    assert loads["<cell 2>"].ok, loads["<cell 2>"].error
    assert not loads["<cell 3>"].ok and "interrupted" in loads["<cell 3>"].error, loads["<cell 3>"].error
    assert loads["<cell 4>"].ok, loads["<cell 4>"].error


def test_a_cell_is_timed_by_the_wall_clock_where_no_thread_can_watch_it(monkeypatch):
    """Where the worker cannot start its watching thread at all, a one-shot wall-clock timer interrupts the
    cell instead, and disarming it leaves no signal behind."""
    import signal
    import threading

    from autograder.sandbox import shell

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    watch = shell._CellWatch()
    assert not watch.threaded
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(time.monotonic()))
    try:
        watch.arm(0.3)
        start = time.monotonic()
        while not fired and time.monotonic() - start < 5:
            pass
        watch.disarm()
        assert fired and 0.2 < fired[0] - start < 2.0
        watch.arm(0.3)
        watch.disarm()
        time.sleep(0.6)
        assert len(fired) == 1, "a disarmed timer fired"
    finally:
        signal.signal(signal.SIGALRM, previous)
