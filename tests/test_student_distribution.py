"""The student distribution: the wheel holds the course library and the public checks and nothing an
instructor keeps back; it installs into a fresh environment (another gymnasium than the grader's), where a
release notebook with correct answers passes every graded cell with the grader's own verdicts; and the install
cell at the top of every notebook stops with one clear message where the environment cannot work."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.assignments import registry
from autograder.grading.notebook import INSTALL_TAG, is_install_cell, notebook_cells
from student import distribution
from student.install_cell import render
from student.leaks import find_leaks, instructor_blocks
from tests.helpers import ROOT, filled_release

GRADING_ONLY = ("autograder/sandbox/", "autograder/grading/", "autograder/__main__.py")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return distribution.build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_the_library_and_the_checks_and_nothing_else(wheel):
    files = distribution.wheel_texts(wheel)
    names = list(files)
    code = sorted(n for n in names if ".dist-info/" not in n)
    assert code == sorted(str(p) for p in distribution.wheel_files())
    assert {n.split("/")[0] for n in code} == {"rlir", "autograder"}
    assert not [n for n in names if n.startswith(GRADING_ONLY)]
    assert not [n for n in names if n.startswith(("source/", "tests/", "release/")) or n.endswith(".ipynb")]
    for assignment in registry().values():
        assert f"autograder/assignments/{assignment.id}.py" in names
    metadata = files[f"rlir_course_student-{distribution.version()}.dist-info/METADATA"].splitlines()
    requires = [line for line in metadata if line.startswith("Requires-Dist")]
    assert "Requires-Dist: torch>=2.2" in requires and "Requires-Dist: gymnasium<2,>=1.0" in requires
    assert len(requires) == len(distribution.DEPENDENCIES) and not [line for line in requires if "==" in line]


def test_no_solution_or_hidden_test_of_any_instructor_notebook_is_in_the_wheel(wheel):
    blocks = instructor_blocks(ROOT / "source")
    assert {b.kind for b in blocks} == {"solution", "hidden tests"} and len(blocks) > 50
    leaks = find_leaks(distribution.wheel_texts(wheel), blocks)
    assert not leaks, "\n".join(map(str, leaks))


def test_the_leak_finder_finds_a_solution_pasted_into_a_module_however_indented():
    blocks = instructor_blocks(ROOT / "source")
    solution = next(b for b in blocks if b.kind == "solution" and len(b.lines) >= 6)
    pasted = "def helper():\n" + "".join(f"        {line}   \n\n" for line in solution.lines[1:5]) + "    pass\n"
    assert find_leaks({"autograder/helper.py": pasted}, blocks)
    # the version of bellman_backup that handed out the answer cell's loop, before it was written in matrix form
    old_backup = """
    Q = np.zeros((n_states, n_actions))
    for state in range(n_states):
        for action in range(n_actions):
            for prob, next_state, reward, terminated in P[state][action]:
                Q[state, action] += prob * (reward + (0.0 if terminated else gamma * V[next_state]))
    """
    assert find_leaks({"autograder/assignments/tabular_q_learning.py": old_backup}, blocks)
    assert not find_leaks({"autograder/other.py": "import numpy as np\nx = 1\n"}, blocks)


def test_building_refuses_a_wheel_with_instructor_text(tmp_path):
    blocks = instructor_blocks(ROOT / "source")
    leaked = tmp_path / "leaky.whl"
    with zipfile.ZipFile(leaked, "w") as archive:
        archive.writestr("autograder/leak.py", "\n".join(blocks[0].lines))
    with pytest.raises(distribution.InstructorTextInWheel, match="instructor material"):
        distribution.verify(leaked)


def install_cells(path: Path) -> list[tuple[int, nbformat.NotebookNode]]:
    notebook = nbformat.read(str(path), as_version=4)
    return [(i, c) for i, c in enumerate(notebook.cells) if is_install_cell(c)]


@pytest.mark.parametrize("tree", ["source", "release"])
def test_every_notebook_starts_with_the_install_cell_of_course_toml(tree):
    assert INSTALL_TAG == "rlir-install"
    paths = sorted((ROOT / tree).glob("*/*.ipynb"))
    assert len(paths) == 7
    for path in paths:
        cells = install_cells(path)
        assert len(cells) == 1, path
        index, cell = cells[0]
        assert cell.source == render(), f"{path}: run `python -m student.install_cell` and regenerate release/"
        notebook = nbformat.read(str(path), as_version=4)
        assert all(c.cell_type == "markdown" for c in notebook.cells[:index]), path  # before any code
        assert index not in {i for i, _, _ in notebook_cells(notebook)}, "the grader must skip the install cell"


def run_install_cell(python: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    cell = tmp_path / "install_cell.py"
    cell.write_text(render())
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # pip installs the wheel and its dependencies (ipywidgets among them): 85 s of wall time on a 2-core machine at
    # load 10, past 120 s at load 15; the time-out only stops a hung install
    return subprocess.run([python, str(cell)], capture_output=True, text=True, env={**clean, **env}, timeout=600,
                          cwd=tmp_path)


def bare_python(tmp_path: Path) -> str:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    return str(tmp_path / "venv" / "bin" / "python")


def test_without_torch_the_install_cell_says_what_to_install_and_installs_nothing(tmp_path):
    result = run_install_cell(bare_python(tmp_path), tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Installing" not in result.stdout
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "needs torch (torch>=2.2)" in message and "pip install torch --index-url" in message


def test_with_an_older_gymnasium_the_install_cell_names_the_version_to_install(tmp_path):
    site = tmp_path / "site"
    for name, version in (("torch", "2.13.0+cpu"), ("gymnasium", "0.29.1")):
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    result = run_install_cell(bare_python(tmp_path), tmp_path, PYTHONPATH=str(site))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("The course needs gymnasium>=1.0,<2, this Python has gymnasium 0.29.1. Run "
                                     "`pip install 'gymnasium>=1.0,<2'`, restart the kernel and run this cell again.")


def release_imports() -> set[str]:
    """Every module a release notebook imports (``from a.b import c`` gives ``a.b``)."""
    modules = set()
    for path in sorted((ROOT / "release").glob("*/*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Import):
                    modules |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module)
    return modules


@pytest.fixture(scope="module")
def student_python(tmp_path_factory) -> str:
    """A fresh virtual environment as a student makes one: torch (the CPU build) and Jupyter's kernel, nothing
    of the course; the install cell brings the rest."""
    home = tmp_path_factory.mktemp("student-env")
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
    python = str(home / "venv" / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "torch==2.13.0",
                    "ipykernel"], check=True, timeout=900)
    return python


@pytest.mark.student_env
def test_the_wheel_installs_in_a_fresh_environment_and_every_release_import_works(wheel, student_python, tmp_path):
    result = run_install_cell(student_python, tmp_path, RLIR_STUDENT_REQUIREMENT=str(wheel))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Installing" in result.stdout and "The course library is ready" in result.stdout
    modules = sorted(release_imports())
    assert {"autograder.assignments.tabular_q_learning", "autograder.assignments.learning_from_logs",
            "rlir.envs.ranking"} <= set(modules)
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\nprint('ok')"
    imported = subprocess.run([student_python, "-c", script, *modules], capture_output=True, text=True,
                              cwd=tmp_path, timeout=300)
    assert imported.stdout.strip() == "ok", imported.stderr
    where = subprocess.run([student_python, "-c", "import autograder, rlir; print(autograder.__file__, rlir.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path).stdout
    assert str(ROOT) not in where and "site-packages" in where


BUGGY_UPDATE = '''
def buggy_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    target = reward + gamma * np.max(q_table[next_state])  # bootstraps past a terminal state
    q_table[state, action] += alpha * (target - q_table[state, action])
'''


@pytest.mark.student_env
def test_a_release_notebook_with_correct_answers_passes_in_the_students_own_kernel(wheel, student_python, tmp_path):
    """Top to bottom in a real kernel of the student environment (after the cell above installed the
    wheel there): every graded cell prints PASSED, and a failing check prints the grader's own message."""
    from nbclient import NotebookClient

    from autograder.assignments.tabular_q_learning import check_update_terminal_vs_truncated

    installed = run_install_cell(student_python, tmp_path, RLIR_STUDENT_REQUIREMENT=str(wheel))
    assert installed.returncode == 0, installed.stderr
    kernels = tmp_path / "jupyter" / "kernels" / "student"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [student_python, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "student",
        "language": "python"}))
    notebook = filled_release("01_tabular_q_learning")
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import numpy as np\n" + BUGGY_UPDATE + "check_update_terminal_vs_truncated(buggy_update)"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBGRADER", "RLIR_", "PYTHONPATH"))}
    env["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    client = NotebookClient(notebook, kernel_name="student", timeout=600, allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    previous = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(previous)
    seconds = time.perf_counter() - start
    graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) == 12
    for cell in graded:
        text = "".join(o.get("text", "") for o in cell.outputs)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors and "PASSED" in text, (cell.metadata["nbgrader"]["grade_id"], cell.outputs)
        # no warning and no progress bar on stderr (tqdm.auto draws a widget: ipywidgets comes with the wheel)
        stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, (cell.metadata["nbgrader"]["grade_id"], stderr)
    print(f"\nassignment 1, top to bottom in the student's kernel: {seconds:.1f} s")
    namespace: dict = {}
    exec("import numpy as np\n" + BUGGY_UPDATE, namespace)
    with pytest.raises(AssertionError) as grader_verdict:
        check_update_terminal_vs_truncated(namespace["buggy_update"])
    (error,) = [o for o in notebook.cells[-1].outputs if o.output_type == "error"]
    assert error.ename == "CheckFailure"
    assert error.evalue == str(grader_verdict.value)
    assert "Property failed:" in error.evalue and "Hint:" in error.evalue


@pytest.mark.student_env
def test_the_students_validate_runs_a_release_notebook_as_grading_does(wheel, student_python, tmp_path):
    """``python -m autograder.validate`` comes with the wheel and, in the student's own environment, says
    PASSED for every graded cell of a correct notebook (and exits 0)."""
    installed = run_install_cell(student_python, tmp_path, RLIR_STUDENT_REQUIREMENT=str(wheel))
    assert installed.returncode == 0, installed.stderr
    nbformat.write(filled_release("01_tabular_q_learning"), str(tmp_path / "tabular_q_learning.ipynb"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBGRADER", "RLIR_", "PYTHONPATH"))}
    result = subprocess.run([student_python, "-m", "autograder.validate", "tabular_q_learning.ipynb"],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = [line.split()[:2] for line in result.stdout.splitlines() if line.startswith(("PASSED", "FAILED"))]
    assert len(verdicts) == 12 and all(verdict == "PASSED" for verdict, _ in verdicts), result.stdout
    assert "40 of 40 points" in result.stdout
