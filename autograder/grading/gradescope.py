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

from autograder.grading import submission
from autograder.grading.notebook import NotebookVerdict, assignment_id, grade_notebook, read_notebook

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


def results_json(verdict: NotebookVerdict) -> dict:
    """Gradescope's results format: total score and one test per graded cell, with the failure message."""
    tests = []
    for cell in verdict.cells:
        output = cell.output.strip()
        if not cell.passed:
            output = (output + "\n" if output else "") + f"{cell.error_name}: {cell.error_message}"
        tests.append({"name": cell.grade_id, "score": cell.points, "max_score": cell.max_points,
                      "output": output, "visibility": "visible"})
    notes = "".join(f"A cell failed: {error.splitlines()[0]}\n" for error in verdict.load_errors)
    return {"score": verdict.points, "output": notes or "Every cell ran without an error.", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def grade_to_results(notebook: Path, assignment: str, tests: Path, results: Path) -> dict:
    """Grade one submitted notebook against the instructor's test cells and write ``results.json``."""
    refused = submission.refusal(notebook, notebook.parent)
    problem = refused or (submission.notebook_problem(notebook) if notebook.exists()
                          else f"no notebook named {notebook.name}")
    if problem:  # not a notebook: zero, with a reason the student can act on
        what = "Could not grade the submission" if refused else "Could not read the submission as a notebook"
        report = {"score": 0.0, "output": f"{what}: {problem}", "visibility": "visible", "tests": []}
    else:
        verdict = grade_notebook(read_notebook(notebook), assignment, test_cells_from=read_notebook(tests),
                                 files=submission.regular_files(notebook.parent))
        report = results_json(verdict)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(report, indent=2))
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
