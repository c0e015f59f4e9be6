"""What the student distribution holds, and how it is built.

A student's notebook imports the course library (``rlir``) and the public checks its graded cells call
(``autograder.assignments.<id>`` with the toolkit they use). Nothing else goes in: no instructor notebooks, no
hidden tests, no tests or corpora, and none of the grading machinery (sandbox, worker, nbgrader plugin, batch,
Gradescope, CLI). Dependencies are ranges that a current Colab and a plain ``pip install`` on Python 3.11-3.13
satisfy; the grading environment keeps its exact pins (``requirements.lock``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from student.leaks import find_leaks, instructor_blocks

ROOT = Path(__file__).resolve().parent.parent
NAME = "rlir-course-student"
IMPORT_NAMES = ("rlir", "autograder")

# The packages of ``autograder`` a student's notebook needs: the checks of every assignment (with their reference
# networks and probe environments) and the toolkit they use. ``sandbox`` and ``grading`` stay out.
PUBLIC_PACKAGES = ("autograder/assignments", "autograder/toolkit")
# And the students' own check before they submit: ``python -m autograder.validate <notebook>``.
PUBLIC_MODULES = ("autograder/__init__.py", "autograder/validate.py")

# Minimum versions the course's code needs (and, where a new major version may change the API, a bound).
# The install cell checks these before installing anything; pip enforces them when it installs.
DEPENDENCIES: dict[str, str] = {
    "numpy": ">=1.26,<3",
    "scipy": ">=1.11",
    "torch": ">=2.2",
    "gymnasium": ">=1.0,<2",
    "matplotlib": ">=3.7",
    "hypothesis": ">=6.100",
    "tqdm": ">=4.66",
    # tqdm.auto draws its bars as widgets in Jupyter (no "IProgress not found" warning, nothing on stderr);
    # 7.6 because Colab ships ipywidgets 7 and its frontend needs it
    "ipywidgets": ">=7.6",
}
# pip must not fetch these itself: a bare ``pip install torch`` on Linux pulls gigabytes of CUDA packages.
INSTALL_YOURSELF = {"torch": "pip install torch --index-url https://download.pytorch.org/whl/cpu"}
REQUIRES_PYTHON = ">=3.11"


def version() -> str:
    """The course's version (``pyproject.toml``): students' checks and the grader's come from one release."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def wheel_files() -> list[Path]:
    """The repository's files that go into the wheel, relative to the repository root."""
    files = sorted(p.relative_to(ROOT) for p in (ROOT / "rlir").rglob("*.py"))
    files += [Path(module) for module in PUBLIC_MODULES]
    files += sorted(p.relative_to(ROOT) for package in PUBLIC_PACKAGES for p in (ROOT / package).rglob("*.py"))
    return files


def pyproject() -> str:
    """The student distribution's own ``pyproject.toml``."""
    dependencies = "".join(f'    "{name}{spec}",\n' for name, spec in DEPENDENCIES.items())
    packages = ", ".join(f'"{name}*"' for name in IMPORT_NAMES)
    return (
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{NAME}"\nversion = "{version()}"\n'
        'description = "Reinforcement Learning for Information Retrieval: the course library and self-checks"\n'
        f'readme = "README.md"\nrequires-python = "{REQUIRES_PYTHON}"\ndependencies = [\n{dependencies}]\n\n'
        f"[tool.setuptools.packages.find]\ninclude = [{packages}]\n"
    )


README = """# rlir-course-student

The course library (`rlir`: environments, IR metrics, evaluation, plotting) and the self-checks the notebooks
of "Reinforcement Learning for Information Retrieval" call (`autograder.<assignment>.check_*`). A graded cell
prints `PASSED <check>` or the property that failed, the input, expected vs got and a hint: the same verdict
the course's grader gives. Install it with the first cell of any course notebook. Before you submit,
`python -m autograder.validate <notebook>.ipynb` runs the notebook as grading does (every cell once, top to
bottom, in a fresh Python) and prints PASSED or FAILED for every graded cell.
"""


def stage(folder: Path) -> None:
    """Lay out the distribution's source tree in ``folder``: its files and its metadata, nothing else."""
    for relative in wheel_files():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / relative, target)
    (folder / "pyproject.toml").write_text(pyproject())
    (folder / "README.md").write_text(README)


class InstructorTextInWheel(RuntimeError):
    """The built wheel holds text of an instructor answer cell or hidden test: it must not be published."""


def wheel_texts(wheel: Path) -> dict[str, str]:
    """Every file in ``wheel``, name -> text."""
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name).decode("utf-8", "replace") for name in archive.namelist()}


def verify(wheel: Path) -> None:
    """Refuse a wheel that holds anything of ``source/``'s solutions or hidden tests."""
    leaks = find_leaks(wheel_texts(wheel), instructor_blocks(ROOT / "source"))
    if leaks:
        raise InstructorTextInWheel(f"{wheel.name} would hand out instructor material:\n"
                                    + "\n".join(str(leak) for leak in leaks))


def build_wheel(out_dir: Path) -> Path:
    """Build the wheel with pip's standard PEP 517 build (setuptools) into ``out_dir`` and check that it
    holds no instructor-only text (else :class:`InstructorTextInWheel`, and nothing is written); its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rlir-student-build-") as scratch:
        source = Path(scratch) / NAME
        stage(source)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "--disable-pip-version-check", "--wheel-dir", scratch, str(source)], check=True)
        built = next(Path(scratch).glob("*.whl"))
        verify(built)
        target = out_dir / built.name
        shutil.copyfile(built, target)
    return target
