"""Each attack in the adversarial corpus is scored as it deserves: it loses the cells it targets, keeps
what it earned, never leaks instructor-only text, and leaves the checks on disk untouched."""

from __future__ import annotations

import hashlib

import pytest

import autograder.assignments.tabular_q_learning
from autograder.grading.notebook import grade_notebook, read_notebook
from tests.corpus.adversarial import ATTACKS
from tests.helpers import source_notebook

SECRETS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "SQLite format")


def submission(cells: dict[str, str]):
    """The instructor notebook with the attack's answer cells; its teaching cells (training runs, plots) are
    left out, as every attack here is in an answer cell (tests/test_notebook_semantics.py runs whole ones)."""
    nb = read_notebook(source_notebook("tabular_q_learning"))
    nb.cells = [cell for cell in nb.cells if cell.cell_type != "code" or cell.metadata.get("nbgrader")]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in cells:
            cell.source = cells[grade_id]
    return nb


def test_the_corpus_has_at_least_twenty_attacks():
    assert len(ATTACKS) >= 20 and len({a.name for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attack_is_scored_as_it_deserves(attack, monkeypatch):
    for name, value in attack.grader_env.items():
        monkeypatch.setenv(name, value)
    checks_file = autograder.assignments.tabular_q_learning.__file__
    before = hashlib.sha256(open(checks_file, "rb").read()).hexdigest()
    trusted = read_notebook(source_notebook("tabular_q_learning"))
    # A teaching cell that trains with a hanging update is interrupted after 10 s here (300 s in the course).
    verdict = grade_notebook(submission(attack.cells), "tabular_q_learning", test_cells_from=trusted,
                             only=set(attack.loses) | set(attack.keeps), cell_timeout=10.0)
    by_id = {cell.grade_id: cell for cell in verdict.cells}
    for grade_id in attack.loses:
        assert not by_id[grade_id].passed, f"{attack.name} kept the points of {grade_id}"
    for grade_id in attack.keeps:
        assert by_id[grade_id].passed, f"{attack.name} cost the points of {grade_id}: {by_id[grade_id].error_message}"
    if attack.message:
        assert attack.message in by_id[attack.loses[0]].error_message
    if attack.secret_free:
        text = " ".join(c.error_message + c.output for c in verdict.cells)
        assert not any(secret in text for secret in SECRETS), "instructor-only text leaked into feedback"
    if attack.grader_env:
        text = " ".join([c.error_message + c.output for c in verdict.cells]
                        + [str(outputs) for outputs in verdict.cell_outputs.values()])
        assert "ENVIRONMENTS" in text  # the snooping cell ran and printed what it found
        leaked = [name for name, value in attack.grader_env.items() if value in text]
        assert not leaked, f"the grader's {leaked} reached what grading hands back"
    assert hashlib.sha256(open(checks_file, "rb").read()).hexdigest() == before
