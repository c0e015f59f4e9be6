"""Run the course's checks as a Gradescope autograder.

Gradescope unpacks an autograder zip into ``/autograder/source``, runs ``setup.sh`` once, then for every
submission runs ``run_autograder``, which must write ``/autograder/results/results.json``. This module builds
that zip for an assignment and turns a notebook's verdict into Gradescope's results format. Grading uses the
same trusted path as nbgrader (student code in the sandbox, test cells from the instructor notebook).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from autograder.grading.grade import grade_submission
from autograder.grading.notebook import assignment_id, read_notebook
from autograder.grading.record import RECORD_NAME, GradingRecord

REPO = Path(__file__).resolve().parents[2]
PACKAGED = ("pyproject.toml", "requirements.lock", "README.md", "autograder", "rlir")

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope calls this for every submission.
set -uo pipefail
cd /autograder/source
mkdir -p /autograder/results
notebook=$(find /autograder/submission -name '{notebook}' | head -n 1)
[ -n "$notebook" ] || notebook=$(find /autograder/submission -name '*.ipynb' | head -n 1)
.venv/bin/python -m autograder gradescope "$notebook" --assignment {assignment} \\
    --tests tests/{notebook} --results /autograder/results/results.json
"""

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built (Ubuntu, as root).
set -euo pipefail
cd /autograder/source
apt-get update -q && apt-get install -y -q python3.11 python3.11-venv || true
python3.11 -m venv .venv
# torch first and pinned; point PIP_EXTRA_INDEX_URL at a CPU-only wheel index in the autograder's
# environment to avoid the CUDA packages (the course never uses a GPU).
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -r requirements.lock
.venv/bin/python -m pip install -q --no-deps .
"""


def results_json(record: GradingRecord) -> dict:
    """Gradescope's results format, rendered from a grading record: the total score and one test per graded
    cell, with the failure as the student sees it."""
    if record.status == "refused":
        what = "Could not read the submission as a notebook" if "notebook" in record.refusal or \
            "JSON" in record.refusal else "Could not grade the submission"
        return {"score": 0.0, "output": f"{what}: {record.refusal}", "visibility": "visible", "tests": []}
    tests = [{"name": cell.grade_id, "score": cell.points, "max_score": cell.max_points,
              "output": "PASSED" if cell.passed else f"{cell.error}: {cell.message}", "visibility": "visible"}
             for cell in record.cells]
    notes = "".join(f"Note: {note}\n" for note in record.notes)
    notes += "".join(f"A cell failed: {error.splitlines()[0]}\n" for error in record.cell_errors)
    return {"score": record.points, "output": notes or "Every cell ran without an error.", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def grade_to_results(notebook: Path, assignment: str, tests: Path, results: Path) -> dict:
    """Grade one submitted notebook against the instructor's test cells and write ``results.json`` (and the
    grading record beside it)."""
    record = grade_submission(notebook.parent, assignment, trusted={notebook.name: read_notebook(tests)}).record
    report = results_json(record)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(report, indent=2))
    record.write(results.parent / RECORD_NAME)
    return report


def build_zip(assignment_folder: str, out: Path) -> Path:
    """The autograder zip for one assignment: the course package, the instructor notebook, the two scripts."""
    assignment = assignment_id(assignment_folder)
    (source,) = sorted((REPO / "source" / assignment_folder).glob("*.ipynb"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in PACKAGED:
            path = REPO / name
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()
                                                           and "__pycache__" not in p.parts)
            for file in files:
                archive.write(file, str(file.relative_to(REPO)))
        archive.write(source, f"tests/{source.name}")
        for name, text in (("run_autograder", RUN_AUTOGRADER.format(notebook=source.name, assignment=assignment)),
                           ("setup.sh", SETUP)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            archive.writestr(info, text)
    return out
