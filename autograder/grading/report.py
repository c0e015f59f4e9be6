"""The class report of one assignment: what the class got wrong, how long grading took, who copied.

It reads the two sources of truth and computes nothing they do not say: the nbgrader gradebook (each student's
points, late penalty, submission time) and the grading records ``autograded/<student>/<folder>/grading.json``
(status, the verdict on every graded cell with its property and falsifying input, seconds). A record of another
schema or of another grader (its ``grader_fingerprint`` is not the current grader's) is listed as stale and left
out of every statistic. The result is plain data (``report.json``); :mod:`autograder.grading.report_html` renders
it as one self-contained page.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading import similarity
from autograder.grading.notebook import read_notebook
from autograder.grading.record import GradingRecord, StaleRecord, load_record, record_path

SCHEMA = 1
FULL = 1e-9  # points within this of the maximum count as full points (gradebook floats)
EXAMPLE_CHARACTERS = 600  # an example input longer than this is cut in report.json (the record keeps it whole)


class NothingToReport(RuntimeError):
    """The course has no gradebook, or nothing of this assignment in it, or no grading record: nothing to read."""


@dataclass
class ClassReport:
    """``data``: everything report.json holds; ``pairs``: the similar pairs with their code (for the page)."""

    data: dict
    pairs: list[similarity.SimilarPair] = field(default_factory=list)


def run_batch_first(course: Path, folder: str, what: str) -> NothingToReport:
    return NothingToReport(f"{folder}: {what}; run `python -m autograder batch {folder} --course {course}` first")


def current_grader_fingerprint(course: Path, folder: str) -> str:
    """The grader fingerprint this grader writes into the records of ``folder`` in ``course`` (its instructor
    notebooks, its checks, the course's grading options), as ``batch`` compares it."""
    from autograder.grading import fingerprint
    from autograder.grading.grade import options_from_config, trusted_notebooks
    from autograder.grading.notebook import assignment_module

    prints = fingerprint.cell_fingerprints(trusted_notebooks(Path(course) / "source" / folder),
                                           assignment_module(folder), options_from_config(Path(course)).as_dict())
    return fingerprint.grader_fingerprint(prints)


def gradebook_view(db_url: str, course: Path, folder: str) -> dict:
    """What the gradebook says about ``folder``: max score, due date, and per student with a submission their
    raw score, late penalty, final score (as ``nbgrader export`` computes it), time, lateness, and points per
    graded cell; plus the gradebook's students without a submission."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            assignment = gradebook.find_assignment(folder)
        except MissingEntry:
            raise run_batch_first(course, folder, "the gradebook does not know this assignment") from None
        students, absent = {}, []
        for student in sorted(s.id for s in gradebook.students):
            try:
                submission = gradebook.find_submission(folder, student)
            except MissingEntry:
                absent.append(student)
                continue
            penalty = float(submission.late_submission_penalty or 0.0)
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell_type == "code":
                        cells[grade.name] = {"points": float(grade.score or 0.0),
                                             "max_points": float(grade.max_score or 0.0)}
            students[student] = {
                "raw_score": float(submission.score or 0.0), "late_penalty": penalty,
                "score": max(0.0, float(submission.score or 0.0) - penalty),
                "submitted_at": submission.timestamp.isoformat() if submission.timestamp else None,
                "seconds_late": float(submission.total_seconds_late), "late": submission.total_seconds_late > 0,
                "cells": cells}
        return {"max_score": float(assignment.max_score or 0.0),
                "due_date": assignment.duedate.isoformat() if assignment.duedate else None,
                "students": students, "absent": absent}


def read_records(course: Path, folder: str, students: list[str], grader_fingerprint: str
                 ) -> tuple[dict[str, GradingRecord], dict[str, str]]:
    """(student -> current record, student -> why their record is stale) for ``students``; a student without a
    record is in neither."""
    records, stale = {}, {}
    for student in students:
        path = record_path(course, student, folder)
        try:
            record = load_record(path)
        except FileNotFoundError:
            continue
        except StaleRecord as error:
            stale[student] = str(error)
            continue
        if record.grader_fingerprint != grader_fingerprint:
            stale[student] = ("graded by another version of the grader (its grader fingerprint is not the current "
                              f"one): rerun `python -m autograder batch {folder}` to regrade it")
        elif record.student != student or record.folder != folder:
            stale[student] = f"the record there is of {record.student}/{record.folder}"
        else:
            records[student] = record
    return records, stale


def point_biserial(passed: list[bool], rest: list[float]) -> float | None:
    """The correlation of passing a check (0/1) with the rest of the score; None where it is undefined (everyone,
    or no one, passed; or the rest does not vary)."""
    if len(passed) < 2:
        return None
    x = [1.0 if p else 0.0 for p in passed]
    mx, my = statistics.fmean(x), statistics.fmean(rest)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, rest, strict=True))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in rest)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _cut(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARACTERS else text[:EXAMPLE_CHARACTERS] + " ..."


def check_rows(graded: list[str], gradebook: dict, records: dict[str, GradingRecord]) -> list[dict]:
    """One row per graded cell (in notebook order): max points, pass rate, mean points, discrimination, and the
    failures grouped by property (commonest first) with a count, an example input and the students."""
    order = [c.grade_id for c in records[graded[0]].cells] if graded else []
    rows = []
    for check in order:
        points = {s: gradebook["students"][s]["cells"].get(check, {}).get("points", 0.0) for s in graded}
        max_points = gradebook["students"][graded[0]]["cells"].get(check, {}).get("max_points", 0.0)
        passed = {s: points[s] >= max_points - FULL for s in graded}
        rest = [gradebook["students"][s]["raw_score"] - points[s] for s in graded]
        groups: dict[str, list[tuple[str, object]]] = defaultdict(list)
        for student in graded:
            cell = records[student].cell(check)
            if cell is not None and not cell.passed:
                groups[cell.property or cell.error or "no property named"].append((student, cell))
        failures = [{"property": prop, "count": len(found), "students": [s for s, _ in found],
                     "example": {"student": found[0][0], "input": _cut(found[0][1].input),
                                 "expected": _cut(found[0][1].expected), "got": _cut(found[0][1].got),
                                 "error": found[0][1].error}}
                    for prop, found in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))]
        rows.append({"check": check, "max_points": max_points,
                     "pass_rate": sum(passed.values()) / len(graded),
                     "mean_points": statistics.fmean(points.values()),
                     "discrimination": point_biserial([passed[s] for s in graded], rest),
                     "passed": sum(passed.values()), "graded": len(graded), "failures": failures})
    return rows


def _reason(record: GradingRecord) -> str:
    if record.status == "refused":
        return record.refusal or "refused"
    if record.cell_errors:
        return record.cell_errors[0].splitlines()[0]
    return record.notes[0] if record.notes else record.status


def own_codes(course: Path, folder: str, students: list[str]) -> tuple[dict[str, str], str]:
    """(student -> own code, the release's template) for the students whose graded notebooks are in
    ``autograded/``; the template comes from ``release/<folder>/`` (else from the instructor's notebooks with
    their solutions removed)."""
    release = sorted((course / "release" / folder).glob("*.ipynb")) or sorted((course / "source" / folder).glob(
        "*.ipynb"))
    templates = {path.name: read_notebook(path) for path in release}
    course_cells = set().union(*(similarity.course_cell_ids(nb) for nb in templates.values())) if templates else set()
    given = [cell for nb in templates.values() for cell in similarity.template_cells(nb)]
    codes = {}
    for student in students:
        parts = []
        for name in sorted(templates):
            nb = similarity.read_notebook_safely(course / "autograded" / student / folder / name)
            if nb is not None:
                parts.append(similarity.own_code(nb, course_cells, set(given)))
        if parts:
            codes[student] = similarity.CELL_BREAK.join(parts)
    return codes, similarity.CELL_BREAK.join(given)


def student_rows(gradebook: dict, records: dict[str, GradingRecord], stale: dict[str, str]) -> list[dict]:
    """Per student with a submission in the gradebook: points (the gradebook's), status (the record's, or
    ``stale`` / ``no record``), lateness, grading time."""
    rows = []
    for student, book in sorted(gradebook["students"].items()):
        record = records.get(student)
        rows.append({"student": student,
                     "status": record.status if record else ("stale" if student in stale else "no record"),
                     "points": book["score"], "raw_points": book["raw_score"], "late_penalty": book["late_penalty"],
                     "max_points": gradebook["max_score"], "late": book["late"], "seconds_late": book["seconds_late"],
                     "submitted_at": book["submitted_at"],
                     "seconds": record.seconds.get("total") if record else None})
    return rows


def not_graded_rows(course: Path, folder: str, students: list[dict], gradebook: dict,
                    records: dict[str, GradingRecord], stale: dict[str, str]) -> list[dict]:
    """Everyone whose submission was not graded, and why: refused or failed by their record, a stale or missing
    record, a submission the gradebook has no grade for, a student of the gradebook who submitted nothing."""
    from autograder.grading.batch import submissions

    rows = [{"student": s["student"], "status": s["status"],
             "reason": _reason(records[s["student"]]) if s["student"] in records else
             stale.get(s["student"], f"no grading record: grade it with `python -m autograder batch {folder}`")}
            for s in students if s["status"] != "graded"]
    rows += [{"student": student, "status": "not in gradebook",
              "reason": f"submitted but never graded into the gradebook: run `python -m autograder batch {folder}`"}
             for student, _ in submissions(course, folder) if student not in gradebook["students"]]
    rows += [{"student": s, "status": "absent", "reason": "no submission"} for s in gradebook["absent"]]
    return rows


def disagreements(graded: list[str], gradebook: dict, records: dict[str, GradingRecord]) -> list[dict]:
    """Graded cells whose points in the gradebook are not their record's (a manual grade, a grade written by
    something else): listed, so that neither source is silently preferred."""
    rows = []
    for student in graded:
        cells = gradebook["students"][student]["cells"]
        for cell in records[student].cells:
            book = cells.get(cell.grade_id, {}).get("points")
            if book is None or abs(book - cell.points) > FULL:
                rows.append({"student": student, "check": cell.grade_id, "gradebook": book, "record": cell.points})
    return rows


def build_report(course: Path, folder: str, *, db_url: str | None = None,
                 grader_fingerprint: str | None = None) -> ClassReport:
    """The class report of ``folder`` from the gradebook at ``db_url`` (default: the course's SQLite gradebook)
    and the records in ``autograded/``; ``grader_fingerprint``: the current grader's (default: computed)."""
    course = Path(course).resolve()
    db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    if db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).is_file():
        raise run_batch_first(course, folder, f"no gradebook at {db_url.removeprefix('sqlite:///')}")
    gradebook = gradebook_view(db_url, course, folder)
    submitted = sorted(gradebook["students"])
    if not any(record_path(course, student, folder).exists() for student in submitted):
        raise run_batch_first(course, folder, f"no grading record (autograded/<student>/{folder}/grading.json)")
    grader_fingerprint = grader_fingerprint or current_grader_fingerprint(course, folder)
    records, stale = read_records(course, folder, submitted, grader_fingerprint)
    graded = [s for s in submitted if s in records and records[s].status == "graded"]
    students = student_rows(gradebook, records, stale)
    not_graded = not_graded_rows(course, folder, students, gradebook, records, stale)
    seconds = [s["seconds"] for s in students if s["seconds"] is not None]
    mismatches = disagreements(graded, gradebook, records)
    codes, template = own_codes(course, folder, [s for s in submitted if s in records])
    pairs = similarity.compare(codes, template)
    assignment = next((r.assignment for r in records.values()), folder)
    data = {
        "schema": SCHEMA, "assignment": assignment, "folder": folder, "max_points": gradebook["max_score"],
        "due_date": gradebook["due_date"], "grader_fingerprint": grader_fingerprint,
        "counts": {"submissions": len(submitted), "graded": len(graded), "not_graded": len(not_graded),
                   "stale": len(stale), "late": sum(s["late"] for s in students)},
        "students": students,
        "scores": {"graded": [gradebook["students"][s]["score"] for s in graded],
                   "mean": statistics.fmean(gradebook["students"][s]["score"] for s in graded) if graded else None,
                   "median": statistics.median(gradebook["students"][s]["score"] for s in graded) if graded
                   else None},
        "checks": check_rows(graded, gradebook, records),
        "seconds": {"per_submission": {s["student"]: s["seconds"] for s in students if s["seconds"] is not None},
                    "mean": statistics.fmean(seconds) if seconds else None,
                    "median": statistics.median(seconds) if seconds else None,
                    "max": max(seconds) if seconds else None, "total": sum(seconds)},
        "not_graded": not_graded,
        "stale": [{"student": s, "reason": why} for s, why in sorted(stale.items())],
        "gradebook_vs_records": mismatches,
        "similar_pairs": [pair.to_dict() for pair in pairs],
        "similarity": {"method": "copydetect 0.5.0 winnowing, the release's template subtracted",
                       "noise_threshold": similarity.NOISE, "guarantee_threshold": similarity.GUARANTEE,
                       "threshold": similarity.THRESHOLD, "min_matched_characters": similarity.MIN_MATCHED,
                       "compared": sorted(codes)},
    }
    return ClassReport(data, pairs)


def table(report: ClassReport) -> str:
    """The short table the command prints: students, checks (commonest failure), not graded, similar pairs."""
    data = report.data
    lines = [f"{data['folder']}: {data['counts']['graded']} graded of {data['counts']['submissions']} submissions"
             + (f", {data['counts']['stale']} with a stale record" if data["counts"]["stale"] else "")
             + (f"; mean {data['scores']['mean']:.1f} / {data['max_points']:g}" if data["scores"]["mean"] is not None
                else ""), "", f"{'student':<24} {'points':>12}  {'status':<14} late"]
    for s in data["students"]:
        lines.append(f"{s['student']:<24} {s['points']:>6g} / {s['max_points']:<4g}  {s['status']:<14} "
                     f"{'late' if s['late'] else ''}")
    lines += ["", f"{'check':<34} {'max':>4} {'pass':>6} {'mean':>6} {'discr':>6}  commonest failure"]
    for c in data["checks"]:
        disc = "-" if c["discrimination"] is None else f"{c['discrimination']:.2f}"
        top = f"{c['failures'][0]['count']}x {c['failures'][0]['property']}"[:70] if c["failures"] else ""
        lines.append(f"{c['check']:<34} {c['max_points']:>4g} {c['pass_rate']:>6.0%} {c['mean_points']:>6.2f} "
                     f"{disc:>6}  {top}")
    if data["seconds"]["mean"] is not None:
        lines += ["", f"grading time per submission: mean {data['seconds']['mean']:.1f} s, "
                      f"max {data['seconds']['max']:.1f} s"]
    lines += [f"NOT GRADED {n['student']} ({n['status']}): {n['reason']}" for n in data["not_graded"]]
    lines += [f"MISMATCH {m['student']} {m['check']}: gradebook {m['gradebook']}, record {m['record']}"
              for m in data["gradebook_vs_records"]]
    lines += [f"SIMILAR {p['students'][0]} ~ {p['students'][1]}: {p['similarity']:.0%}" for p in data["similar_pairs"]]
    return "\n".join(lines)
