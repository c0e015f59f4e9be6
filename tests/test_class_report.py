"""The class report (``python -m autograder report``): on a synthetic class of assignment 1 graded once by
``batch``, every number in report.json is what the gradebook and the grading records say, the copied pair is
flagged and no independently written code is, stale records are listed and left out, and the page renders in
Chromium with no script. Bad input gets one line; the similarity check is measured on the corpus."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.__main__ import main
from autograder.grading.batch import batch_grade, nbgrader_env
from autograder.grading.record import load_record, record_path
from tests.e2e import assignment_folder, make_course
from tests.helpers import ROOT
from tests.similarity_corpus import corpus_pairs
from tests.synthetic_class import SCRIPT, class_notebooks

NOTEBOOK = "tabular_q_learning.ipynb"
DUE = "2026-12-01 12:00:00 UTC"
TIMES = {"ada_solution": "2026-12-01 11:00:00 UTC", "hal_sign": "2026-12-02 09:30:00 UTC"}  # hal is late
INDEPENDENT = {"ada_solution", "bo_blank", "cy_loops", "di_vectorised", "eli_original", "gil_half"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once by ``batch`` (late submissions lose everything), and its report."""
    from nbgrader.api import Gradebook

    course, folder, _, _ = make_course(tmp_path_factory.mktemp("class"), "tabular_q_learning")
    with (course / "nbgrader_config.py").open("a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(folder, duedate=DUE)
    for student, nb in class_notebooks().items():
        target = course / "submitted" / student / folder
        target.mkdir(parents=True)
        nbformat.write(nb, str(target / NOTEBOOK))
        if student in TIMES:
            (target / "timestamp.txt").write_text(TIMES[student])
    refused = course / "submitted" / "pat_pdf" / folder
    refused.mkdir(parents=True)
    (refused / "tabular_q_learning.pdf").write_bytes(b"%PDF-1.4 not a notebook")
    results = batch_grade(course, folder, workers=2, progress=False)
    assert all(r.status in ("graded", "refused") for r in results), [(r.student, r.status, r.reason) for r in results]
    assert main(["report", folder, "--course", str(course)]) == 0
    out = course / "reports" / folder
    return course, folder, json.loads((out / "report.json").read_text()), out / "report.html"


def gradebook_truth(course: Path, folder: str) -> dict:
    """student -> (score after penalty, raw, penalty, late, grade id -> (points, max)) read here from nbgrader."""
    from nbgrader.api import Gradebook

    truth = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            submission = gradebook.find_submission(folder, student.id)
            penalty = submission.late_submission_penalty
            grades = {g.name: (g.score, g.max_score) for nb in submission.notebooks for g in nb.grades
                      if g.cell_type == "code"}
            truth[student.id] = (max(0.0, submission.score - penalty), submission.score, penalty,
                                 submission.total_seconds_late > 0, grades)
    return truth


def test_every_number_in_report_json_is_what_the_gradebook_and_records_say(graded):
    course, folder, report, _ = graded
    truth = gradebook_truth(course, folder)
    records = {s: load_record(record_path(course, s, folder)) for s in truth}
    assert {s["student"] for s in report["students"]} == set(truth)
    for row in report["students"]:
        score, raw, penalty, late, _ = truth[row["student"]]
        record = records[row["student"]]
        assert (row["points"], row["raw_points"], row["late_penalty"], row["late"]) == (score, raw, penalty, late)
        assert row["status"] == record.status and row["seconds"] == record.seconds.get("total")
    assert truth["hal_sign"][3] and not truth["ada_solution"][3] and report["counts"]["late"] == 1
    assert truth["ada_solution"][0] == 40 and truth["bo_blank"][0] == 0 and truth["hal_sign"][0] == 0
    graded_students = sorted(s for s, r in records.items() if r.status == "graded")
    assert len(graded_students) == 12 and report["counts"]["graded"] == 12
    assert report["scores"]["graded"] == [truth[s][0] for s in graded_students]
    assert report["not_graded"] == [{"student": "pat_pdf", "status": "refused", "reason": records["pat_pdf"].refusal}]
    assert [c["check"] for c in report["checks"]] == [c.grade_id for c in records["ada_solution"].cells]
    for check in report["checks"]:
        points = np.array([truth[s][4][check["check"]][0] for s in graded_students])
        top = truth["ada_solution"][4][check["check"]][1]
        passed = points >= top
        rest = np.array([truth[s][1] for s in graded_students]) - points
        assert check["max_points"] == top and check["graded"] == 12
        assert check["pass_rate"] == pytest.approx(passed.mean(), rel=1e-12)
        assert check["mean_points"] == pytest.approx(points.mean(), rel=1e-12)
        if passed.all() or not passed.any():
            assert check["discrimination"] is None
        else:
            assert check["discrimination"] == pytest.approx(np.corrcoef(passed, rest)[0, 1], rel=1e-9)
        failing = {s: records[s].cell(check["check"]) for s in graded_students if not records[s].cell(
            check["check"]).passed}
        assert sorted(s for f in check["failures"] for s in f["students"]) == sorted(failing)
        assert [f["count"] for f in check["failures"]] == sorted((f["count"] for f in check["failures"]),
                                                                 reverse=True)
        for failure in check["failures"]:
            assert {failing[s].property or failing[s].error for s in failure["students"]} == {failure["property"]}
            example = failing[failure["example"]["student"]]
            assert failure["example"]["input"] == example.input[:600] + (" ..." if len(example.input) > 600 else "")
    by_check = {c["check"]: c for c in report["checks"]}
    (sign,) = [f for f in by_check["update_alpha_edge_cases"]["failures"] if "hal_sign" in f["students"]]
    assert {"hal_sign", "ivy_sign"} <= set(sign["students"]) and sign["count"] >= 2
    seconds = [r.seconds["total"] for r in records.values()]
    assert report["seconds"]["mean"] == pytest.approx(sum(seconds) / len(seconds), rel=1e-12)
    assert report["seconds"]["max"] == max(seconds)
    assert report["gradebook_vs_records"] == [] and report["stale"] == []


def test_the_copied_pair_is_flagged_and_no_independent_code_is(graded):
    _, _, report, _ = graded
    pairs = {frozenset(p["students"]): p for p in report["similar_pairs"]}
    assert frozenset({"eli_original", "fox_copy"}) in pairs
    assert pairs[frozenset({"eli_original", "fox_copy"})]["similarity"] >= 0.9
    assert not [p for p in pairs if len(p & INDEPENDENT) == 2]
    assert not [p for p in pairs if "bo_blank" in p or "pat_pdf" in p]


def test_a_stale_record_is_listed_and_left_out_of_every_statistic(graded, tmp_path):
    course, folder, report, _ = graded
    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns("reports"))
    older = json.loads(record_path(copy, "kit_argmax", folder).read_text())
    older["grader_fingerprint"] = "sha256:" + "0" * 64
    record_path(copy, "kit_argmax", folder).write_text(json.dumps(older))
    schema0 = json.loads(record_path(copy, "lu_axis", folder).read_text())
    schema0["schema"] = 0
    record_path(copy, "lu_axis", folder).write_text(json.dumps(schema0))
    assert main(["report", folder, "--course", str(copy), "--out", str(tmp_path / "out")]) == 0
    stale = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {s["student"] for s in stale["stale"]} == {"kit_argmax", "lu_axis"}
    assert "schema 0" in next(s["reason"] for s in stale["stale"] if s["student"] == "lu_axis")
    assert stale["counts"]["graded"] == 10 and len(stale["scores"]["graded"]) == 10
    statuses = {s["student"]: s["status"] for s in stale["students"]}
    assert statuses["kit_argmax"] == statuses["lu_axis"] == "stale"
    for check in stale["checks"]:
        assert check["graded"] == 10
        assert not {"kit_argmax", "lu_axis"} & {s for f in check["failures"] for s in f["students"]}
    by_check = {c["check"]: c for c in report["checks"]}
    assert {c["check"]: c["pass_rate"] for c in stale["checks"]}["greedy_policy"] != by_check["greedy_policy"][
        "pass_rate"]  # lu's failure of greedy_policy is no longer counted


def test_the_command_prints_a_short_table(graded, capsys):
    course, folder, _, _ = graded
    assert main(["report", folder, "--course", str(course), "--out", str(course / "again")]) == 0
    printed = capsys.readouterr().out
    assert "ada_solution" in printed and "NOT GRADED pat_pdf (refused)" in printed
    assert "SIMILAR eli_original ~ fox_copy" in printed and "update_alpha_edge_cases" in printed


def test_the_page_is_self_contained_and_shows_student_code_escaped(graded):
    _, _, _, page = graded
    text = page.read_text()
    assert "<script" not in text.lower()
    assert SCRIPT.replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#x27;") in text
    links = re.findall(r"\b(?:src|href|url)\s*[=(]\s*[\"']?([^\"' )>]*)", text, re.IGNORECASE)
    assert len(links) == 2 and all(link.startswith("data:image/png;base64,") for link in links)  # loads nothing


@pytest.mark.browser
def test_the_page_renders_in_chromium_and_runs_nothing(graded):
    from tests.browser import browser_page

    _, _, report, page_path = graded
    with browser_page() as page:
        page.goto(page_path.as_uri())
        widths = page.evaluate("[...document.images].map(i => [i.id, i.naturalWidth])")
        assert dict(widths)["histogram"] > 100 and dict(widths)["pass-rate"] > 100
        rows = page.evaluate("document.querySelectorAll('#checks tbody tr').length")
        assert rows == len(report["checks"])
        assert page.evaluate("document.body.getAttribute('data-pwned')") is None
        assert page.evaluate("document.scripts.length") == 0
        assert SCRIPT in page.inner_text("body")


def test_no_gradebook_or_no_records_says_run_batch_first(tmp_path, capsys, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])  # nbgrader runs alembic to create a gradebook
    course, folder = tmp_path, assignment_folder("tabular_q_learning")
    shutil.copytree(ROOT / "source" / folder, course / "source" / folder)
    assert main(["report", folder, "--course", str(course)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "no gradebook" in lines[0] and f"python -m autograder batch {folder}" in lines[0]
    assert not (course / "gradebook.db").exists()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(folder)
        gradebook.update_or_create_student("ann")
        with gradebook.db.no_autoflush:  # as batch does: nbgrader's add_submission warns under autoflush
            gradebook.add_submission(folder, "ann")
    assert main(["report", folder, "--course", str(course)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "no grading record" in lines[0] and "batch" in lines[0]
    assert not (course / "reports").exists()


def test_no_independently_written_code_in_the_corpus_is_flagged():
    """The false-positive rate of the similarity check on the corpus (course.md states it): 0 of the pairs of
    different authors; the alternatives built from the instructor's text are flagged as the instructor's."""
    pairs = list(corpus_pairs())
    different = [p for p in pairs if not p.same_author]
    assert len(different) >= 200
    assert [p for p in different if p.flagged] == []
    assert all(p.flagged for p in pairs if p.same_author)
    assert max(min(p.shares[:2]) for p in different) < 0.7 and not math.isnan(different[0].shares[0])
