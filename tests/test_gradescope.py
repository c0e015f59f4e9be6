"""The package runs as a Gradescope autograder: results.json in Gradescope's format, and the zip to upload."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.__main__ import main
from tests.helpers import ROOT, source_notebook

FOLDER = "01_tabular_q_learning"


@pytest.fixture
def world_readable_dir():
    """A scratch folder the sandbox's unprivileged user can enter (pytest's tmp_path is root-only), removed
    afterwards."""
    path = Path(tempfile.mkdtemp(prefix="rlir-gradescope-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_results_json_has_gradescopes_fields_and_the_failing_property(tmp_path):
    release = ROOT / "release" / FOLDER / "tabular_q_learning.ipynb"
    results = tmp_path / "results.json"
    assert main(["gradescope", str(release), "--assignment", "tabular_q_learning",
                 "--tests", str(source_notebook("tabular_q_learning")), "--results", str(results)]) == 0
    report = json.loads(results.read_text())
    assert report["score"] == 0 and len(report["tests"]) == 12
    for test in report["tests"]:
        assert set(test) == {"name", "score", "max_score", "output", "visibility"}
        assert test["score"] == 0 and test["max_score"] > 0
    by_name = {t["name"]: t for t in report["tests"]}
    assert "Property failed:" in by_name["update_fixed_point"]["output"]
    assert "NotImplementedError" in by_name["update_fixed_point"]["output"]
    assert sum(t["max_score"] for t in report["tests"]) == 40


def test_a_file_that_is_not_a_notebook_scores_zero_with_a_reason(tmp_path):
    junk = tmp_path / "submission.ipynb"
    junk.write_text("not json")
    results = tmp_path / "results.json"
    main(["gradescope", str(junk), "--assignment", "tabular_q_learning",
          "--tests", str(source_notebook("tabular_q_learning")), "--results", str(results)])
    report = json.loads(results.read_text())
    assert report["score"] == 0 and "Could not read" in report["output"]


def test_the_zip_runs_as_gradescope_would(world_readable_dir):
    """Unpack the zip as /autograder/source would be, and run its run_autograder on a correct submission."""
    tmp_path = world_readable_dir
    archive = tmp_path / "autograder.zip"
    assert main(["gradescope-zip", FOLDER, "--out", str(archive)]) == 0
    source = tmp_path / "source"
    with zipfile.ZipFile(archive) as unpacked:
        names = unpacked.namelist()
        unpacked.extractall(source)
    assert {"run_autograder", "setup.sh", "tests/tabular_q_learning.ipynb", "autograder/grading/gradescope.py",
            "rlir/frozenlake.py", "requirements.lock"} <= set(names)
    assert not any("BEGIN SOLUTION" in name for name in names)
    os.symlink(sys.prefix, source / ".venv")  # stands in for the venv setup.sh would build
    submission = tmp_path / "submission"
    submission.mkdir()
    solution = nbformat.read(str(source_notebook("tabular_q_learning")), as_version=4)
    nbformat.write(solution, str(submission / "tabular_q_learning.ipynb"))
    script = (source / "run_autograder").read_text().replace("/autograder/", f"{tmp_path}/")
    script = script.replace(f"cd {tmp_path}/source", f"cd {source}")
    results = tmp_path / "results"
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((results / "results.json").read_text())
    assert report["score"] == 40


def test_results_json_holds_none_of_the_graders_secrets(tmp_path, monkeypatch):
    """Under Gradescope too the student's code finds nothing of the grader's environment (issue 21)."""
    from tests.corpus.adversarial import GRADER_SECRETS
    from tests.test_hostile_submissions import snooping_notebook

    for name, value in GRADER_SECRETS.items():
        monkeypatch.setenv(name, value)
    notebook = tmp_path / "tabular_q_learning.ipynb"
    nbformat.write(snooping_notebook(source_notebook("tabular_q_learning"),
                                     ROOT / "release" / FOLDER / "tabular_q_learning.ipynb"), str(notebook))
    results = tmp_path / "results.json"
    assert main(["gradescope", str(notebook), "--assignment", "tabular_q_learning",
                 "--tests", str(source_notebook("tabular_q_learning")), "--results", str(results)]) == 0
    text = results.read_text()
    by_name = {t["name"]: t for t in json.loads(text)["tests"]}
    assert by_name["shape_reward"]["score"] == 0 and "RuntimeError" in by_name["shape_reward"]["output"]
    assert not [name for name, value in GRADER_SECRETS.items() if value in text]
