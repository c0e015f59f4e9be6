"""A synthetic class of assignment 1 for the class report: the solution, the blank release, mutants, the corpus's
alternatives, and a pair in which one student copied another's answers, renamed the variables and reordered the
helpers. The original carries a ``<script>`` in a comment: the report must show it as text."""

from __future__ import annotations

import re
from dataclasses import replace

import nbformat

from tests.corpus import Submission
from tests.corpus.tabular_q_learning import UNTRAINED
from tests.helpers import corpus, notebook_of

ASSIGNMENT = "tabular_q_learning"
SCRIPT = "<script>document.body.setAttribute('data-pwned', '1')</script>"

HELPERS = f'''
def _action_value(P, V, s, a, gamma):
    # expected return of a in s {SCRIPT}
    return sum(p * (r + (0.0 if done else gamma * V[s2])) for p, s2, r, done in P[s][a])


def _sweep(P, V, gamma):
    delta = 0.0
    for s in range(len(P)):
        best = max(_action_value(P, V, s, a, gamma) for a in range(len(P[s])))
        delta = max(delta, abs(best - V[s]))
        V[s] = best
    return delta
'''
MAIN = '''
def value_iteration(P, gamma, tol=1e-10):
    V = [0.0] * len(P)
    while _sweep(P, V, gamma) >= (tol * (1 - gamma) / 2 if gamma < 1 else tol):
        pass
    Q = np.array([[_action_value(P, V, s, a, gamma) for a in range(len(P[s]))] for s in range(len(P))])
    return Q.max(axis=1), Q
'''
# The original's other answers, written for this class (not in the corpus): epsilon_greedy and train_q_learning
# are left as released.
OTHERS = {
    "q_learning_update": '''
def q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    future = 0.0
    if not terminated:
        future = gamma * float(np.max(q_table[next_state]))
    q_table[state, action] += alpha * (reward + future - q_table[state, action])
''',
    "greedy_policy": '''
def greedy_policy(q_table):
    table = np.asarray(q_table, dtype=float)
    choice = np.empty(table.shape[0], dtype=int)
    for index in range(table.shape[0]):
        choice[index] = int(np.flatnonzero(table[index] == table[index].max())[0])
    return choice
''',
    "shape_reward": '''
def shape_reward(reward, terminated):
    fell_in_hole = bool(terminated) and float(reward) == 0.0
    return -1.0 if fell_in_hole else float(reward)
''',
}
# Local names only: parameters of the contract's functions keep their names (checks may pass them by keyword).
RENAMES = {"_action_value": "_q", "_sweep": "_one_pass", "V": "values", "delta": "change", "best": "top",
           "s2": "nxt", "future": "later", "table": "tbl", "choice": "picks", "index": "i",
           "fell_in_hole": "in_hole"}


def renamed(source: str) -> str:
    return re.sub(r"\b(" + "|".join(map(re.escape, RENAMES)) + r")\b", lambda m: RENAMES[m.group(1)], source)


def original_answers() -> dict[str, str]:
    """The original's answer cells: value iteration written with helpers, three more functions, two left out."""
    return {"value_iteration": HELPERS + "\n" + MAIN, **OTHERS}


def copied_answers() -> dict[str, str]:
    """The copy: the same answers, locals renamed, value iteration's helpers after it and in the other order."""
    answers = {name: renamed(source) for name, source in original_answers().items()}
    helpers = renamed(HELPERS).split("\n\n\n")
    answers["value_iteration"] = renamed(MAIN) + "\n\n" + "\n\n\n".join(reversed(helpers))
    return answers


def with_answers(nb: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """``nb`` with the answer cells of ``answers`` (contract name -> source) replaced."""
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if grade_id.removeprefix("answer_") in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[grade_id.removeprefix("answer_")]
    return nb


def class_notebooks() -> dict[str, nbformat.NotebookNode]:
    """student -> submitted notebook (12 students)."""
    alternatives = corpus(ASSIGNMENT).ALTERNATIVES
    notebooks = {
        "ada_solution": notebook_of(ASSIGNMENT, Submission(base="solution")),
        "bo_blank": notebook_of(ASSIGNMENT, Submission(solved=())),
        "cy_loops": with_answers(notebook_of(ASSIGNMENT, UNTRAINED), alternatives["loops_and_gauss_seidel"]),
        "di_vectorised": with_answers(notebook_of(ASSIGNMENT, UNTRAINED), alternatives["vectorised"]),
        "eli_original": with_answers(notebook_of(ASSIGNMENT, Submission(solved=())), original_answers()),
        "fox_copy": with_answers(notebook_of(ASSIGNMENT, Submission(solved=())), copied_answers()),
        "gil_half": notebook_of(ASSIGNMENT, Submission(solved=("shape_reward", "greedy_policy"))),
    }
    for student, mutants in {"hal_sign": ("update_sign_error",), "ivy_sign": ("update_sign_error",),
                             "kit_argmax": ("epsilon_greedy_first_maximum",),
                             "lu_axis": ("greedy_policy_wrong_axis",),
                             "mo_two": ("value_iteration_mean_instead_of_max", "shape_reward_punishes_every_zero")
                             }.items():
        # only ada (above) and hal train: the learning check is the costly one (about 15 s a submission)
        spec = Submission(base="solution", mutants=mutants) if student == "hal_sign" else replace(UNTRAINED,
                                                                                                 mutants=mutants)
        notebooks[student] = notebook_of(ASSIGNMENT, spec)
    return notebooks
