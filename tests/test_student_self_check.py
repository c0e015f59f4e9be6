"""What the notebooks tell students about grading is what grading does, written once (student.grading_text),
and the self-check they are told to run (``python -m autograder.validate``) runs a notebook as grading does:
every code cell once, top to bottom, the install cell skipped, a graded cell judged on what the cells above it
defined, a cell interrupted after the grader's time limit, PASSED or FAILED per graded cell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.grading.notebook import GRADING_ENV, NOTEBOOK_CELL_TIMEOUT, is_graded_test_cell
from autograder.toolkit.cells import TEACHING_RUNS_SHORTENED
from student.grading_text import HEADING, paragraphs, render
from tests.helpers import ROOT, filled_release

STALE = ("nbgrader validate", "from scratch", "separate process")


@pytest.mark.parametrize("tree", ["source", "release"])
def test_every_notebook_carries_the_one_grading_paragraph(tree):
    paths = sorted((ROOT / tree).glob("*/*.ipynb"))
    assert len(paths) == 7
    for path in paths:
        notebook = nbformat.read(str(path), as_version=4)
        first = next(c for c in notebook.cells if c.cell_type == "markdown")
        ours = [block for block in paragraphs(first.source) if block.startswith(HEADING)]
        assert ours == [render(path.name)], f"{path}: run `python -m student.grading_text` and regenerate release/"
        text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        assert not [s for s in STALE if s in text], f"{path} still says {[s for s in STALE if s in text]}"


def test_the_paragraph_and_course_md_say_what_grading_does():
    text = render("dqn.ipynb")
    assert "once, top to bottom" in text and f"{NOTEBOOK_CELL_TIMEOUT:.0f} s is interrupted" in text
    assert "`python -m autograder.validate dqn.ipynb`" in text
    assert TEACHING_RUNS_SHORTENED.items() <= GRADING_ENV.items()  # validate shortens what grading shortens
    workflow = (ROOT / "course.md").read_text().split("## Student workflow")[1].split("\n## ")[0]
    assert "`python -m autograder.validate <notebook>.ipynb`" in workflow and "`nbgrader validate <" not in workflow
    assert "once, top to bottom" in workflow and f"longer than {NOTEBOOK_CELL_TIMEOUT:.0f} s" in workflow


def validate(notebook: nbformat.NotebookNode, folder: Path, python: str = sys.executable,
             timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m autograder.validate`` on ``notebook`` in a fresh process, as a student runs it."""
    nbformat.write(notebook, str(folder / "tabular_q_learning.ipynb"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBGRADER", "RLIR_"))}
    if python == sys.executable:
        env["PYTHONPATH"] = str(ROOT)
    else:
        env.pop("PYTHONPATH", None)
    return subprocess.run([python, "-m", "autograder.validate", "tabular_q_learning.ipynb"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=timeout)


def trimmed(keep: tuple[str, ...]) -> nbformat.NotebookNode:
    """Assignment 1's release with the instructor's answers, only the install cell and the cells ``keep`` names."""
    notebook = filled_release("01_tabular_q_learning")
    notebook.cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") in keep
                      or "rlir-install" in c.metadata.get("tags", ())]
    return notebook


UPDATE_CELLS = ("setup-imports", "answer_q_learning_update", "update_terminal_vs_truncated", "answer_greedy_policy",
                "greedy_policy")
BUGGY_UPDATE = '''def q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    target = reward + gamma * np.max(q_table[next_state])  # bootstraps past a terminal state
    q_table[state, action] += alpha * (target - q_table[state, action])
'''


def test_validate_says_passed_and_failed_per_graded_cell_with_the_checks_own_message(tmp_path):
    from autograder.assignments.tabular_q_learning import check_update_terminal_vs_truncated

    notebook = trimmed(UPDATE_CELLS)
    correct = validate(notebook, tmp_path)
    assert correct.returncode == 0, correct.stdout + correct.stderr
    assert [line.split()[:2] for line in correct.stdout.splitlines() if line.startswith(("PASSED", "FAILED"))] == \
        [["PASSED", "update_terminal_vs_truncated"], ["PASSED", "greedy_policy"]]
    assert "2 of 2 graded cells passed: 6 of 6 points" in correct.stdout

    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_q_learning_update":
            cell.source = BUGGY_UPDATE
    buggy = validate(notebook, tmp_path)
    assert buggy.returncode == 1
    assert "PASSED  greedy_policy  2 of 2 points" in buggy.stdout
    assert "FAILED  update_terminal_vs_truncated  0 of 4 points" in buggy.stdout
    namespace: dict = {}
    exec("import numpy as np\n" + BUGGY_UPDATE, namespace)
    with pytest.raises(AssertionError) as grader:
        check_update_terminal_vs_truncated(namespace["q_learning_update"])
    assert str(grader.value).splitlines()[0] in buggy.stdout
    assert "1 of 2 graded cells passed: 2 of 6 points" in buggy.stdout


def test_validate_judges_a_graded_cell_on_the_cells_above_it_and_runs_on_after_an_error(tmp_path):
    notebook = trimmed(UPDATE_CELLS)
    answer = next(i for i, c in enumerate(notebook.cells)
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "answer_q_learning_update")
    moved = notebook.cells.pop(answer)
    notebook.cells.append(moved)  # the answer now comes after the graded cells, as a student might leave it
    notebook.cells.insert(answer, nbformat.v4.new_code_cell("raise RuntimeError('a broken teaching cell')"))
    result = validate(notebook, tmp_path)
    assert result.returncode == 1
    assert "raised RuntimeError: a broken teaching cell" in result.stdout
    assert "PASSED  greedy_policy" in result.stdout  # defined above its graded cell
    assert "FAILED  update_terminal_vs_truncated" in result.stdout
    assert "q_learning_update" in result.stdout  # the failure names what was missing
    install = next(c for c in notebook.cells if "rlir-install" in c.metadata.get("tags", ()))
    assert "Installing" not in result.stdout and install.source  # the install cell never ran


def test_validate_interrupts_a_cell_after_the_graders_limit_and_runs_the_rest(tmp_path, monkeypatch):
    from autograder import validate as module

    (tmp_path / "slow.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import time\nstarted = time.monotonic()\ntime.sleep(30)"),
        nbformat.v4.new_code_cell("after = 1"),
        nbformat.v4.new_code_cell("assert after == 1 and time.monotonic() - started < 10", metadata={
            "nbgrader": {"grade": True, "solution": False, "grade_id": "after", "points": 1}}),
    ])))
    assert is_graded_test_cell(nbformat.read(str(tmp_path / "slow.ipynb"), as_version=4).cells[2])
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from autograder import validate as v; "
              f"out = v.validate(v.Path({str(tmp_path / 'slow.ipynb')!r}), timeout=2); print(v.summary(out))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBGRADER", "RLIR_"))}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert "raised CellTimedOut: this cell ran longer than 2 s" in result.stdout, result.stdout + result.stderr
    assert "PASSED  after  1 of 1 points" in result.stdout
    assert module.NOTEBOOK_CELL_TIMEOUT == NOTEBOOK_CELL_TIMEOUT


def stated_thresholds() -> dict[str, list[str]]:
    """What each notebook must say about its learning checks, from the checks' own constants."""
    from autograder.assignments import actor_critic, dqn, reinforce, reinforce_for_ir

    return {
        "02_dqn": [f"total_steps={dqn.LEARNING_STEPS:_}", f"at least {dqn.RETURN_THRESHOLD:.0f}",
                   f"its {dqn.LEARNING_STEPS // dqn.LEARNING_CONFIG['eval_every']} greedy evaluations",
                   f"one every {dqn.LEARNING_CONFIG['eval_every']} steps",
                   f"{dqn.LEARNING_CONFIG['eval_episodes']} episodes each"],
        "04_reinforce": [f"for {reinforce.CARTPOLE_STEPS:,} steps", f"at least {reinforce.CARTPOLE_THRESHOLD:.0f}",
                         f"for {reinforce.REACH_STEPS:,} steps", f"at least {reinforce.REACH_THRESHOLD:.0%}"[:-1]
                         + " %"],
        "05_reinforce_for_ir": [f"{reinforce_for_ir.LABELS_EPISODES} episodes on labels",
                                f"{reinforce_for_ir.CLICKS_EPISODES} episodes on clicks",
                                f"at least {reinforce_for_ir.LABELS_RATIO:.2f} × the oracle",
                                f"or {reinforce_for_ir.CLICKS_RATIO:.2f} × (clicks)"],
        "06_actor_critic": [f"{actor_critic.LEARNING_ENVS} environments", f"{actor_critic.LEARNING_STEPS:,} steps",
                            f"{actor_critic.EVAL_EPISODES} episodes",
                            f"at least {actor_critic.SOLVED_RETURN:.0f}"],
    }


@pytest.mark.parametrize("folder", ["02_dqn", "04_reinforce", "05_reinforce_for_ir", "06_actor_critic"])
def test_every_learning_checks_threshold_is_stated_in_its_notebook(folder):
    notebook = nbformat.read(str(next((ROOT / "source" / folder).glob("*.ipynb"))), as_version=4)
    text = " ".join(" ".join(c.source.split()) for c in notebook.cells if c.cell_type == "markdown")
    missing = [phrase for phrase in stated_thresholds()[folder] if phrase not in text]
    assert not missing, f"{folder} does not state {missing}"
