"""The install cell at the top of every course notebook, written from ``course.toml``.

It works unchanged in Colab, JupyterLab and ``jupyter notebook``: it checks the packages the course needs
that pip should not fetch by itself (torch) or that are already installed in a version the course cannot
use (an older gymnasium, say), and stops with one message naming what to install; otherwise it installs the
student distribution where the course library is missing. The grader never runs it (tagged
``autograder.grading.notebook.INSTALL_TAG``).

``python -m student.install_cell`` writes it into every notebook in ``source/`` (then regenerate
``release/``); ``--check`` exits 1 if any notebook's cell differs from what ``course.toml`` says.
"""

from __future__ import annotations

import tomllib

import nbformat

from autograder.grading.notebook import INSTALL_TAG, is_install_cell
from student.distribution import DEPENDENCIES, INSTALL_YOURSELF, ROOT
from student.source_notebooks import update_or_check

CONFIG = ROOT / "course.toml"

_TEMPLATE = '''\
# Course setup: run this cell first (the grader skips it). It installs the course library and the self-checks
# where they are missing, in Colab, JupyterLab or Jupyter Notebook alike. Written from the course's course.toml.
import importlib.metadata, importlib.util, os, re, subprocess, sys

RLIR_REQUIREMENT = os.environ.get("RLIR_STUDENT_REQUIREMENT", {requirement!r})
RLIR_PIP_ARGS = {pip_args!r}
RLIR_NEEDS = {needs!r}  # package: (at least, below)
RLIR_INSTALL_YOURSELF = {install_yourself!r}


def _rlir_environment_problem():
    """What this Python lacks for the course, as one message; None when nothing."""
    def release(text):
        return tuple(int(part) for part in re.match(r"\\d+(?:\\.\\d+)*", text).group().split("."))
    for package, (least, below) in RLIR_NEEDS.items():
        wanted = f"{{package}}>={{least}}" + (f",<{{below}}" if below else "")
        try:
            found = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            if package in RLIR_INSTALL_YOURSELF:
                return (f"The course needs {{package}} ({{wanted}}), which this Python does not have. Install it "
                        f"with `{{RLIR_INSTALL_YOURSELF[package]}}`, restart the kernel and run this cell again.")
            continue  # pip installs it with the course
        if release(found) < release(least) or (below and release(found) >= release(below)):
            return (f"The course needs {{wanted}}, this Python has {{package}} {{found}}. Run "
                    f"`pip install '{{wanted}}'`, restart the kernel and run this cell again.")
    return None


_rlir_problem = _rlir_environment_problem()
if _rlir_problem:
    raise SystemExit(_rlir_problem)
if importlib.util.find_spec("rlir") is None or importlib.util.find_spec("autograder") is None:
    print(f"Installing {{RLIR_REQUIREMENT}} ...")
    if subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *RLIR_PIP_ARGS, RLIR_REQUIREMENT]).returncode:
        raise SystemExit(f"pip could not install {{RLIR_REQUIREMENT}} (its message is above); ask your instructor.")
    importlib.invalidate_caches()
import rlir  # noqa: E402,F401
print("The course library is ready:", os.path.dirname(rlir.__file__))'''


def _bounds(spec: str) -> tuple[str, str | None]:
    """('1.0', '2') from '>=1.0,<2': the only forms DEPENDENCIES uses."""
    least, below = None, None
    for part in spec.split(","):
        if part.startswith(">="):
            least = part[2:]
        elif part.startswith("<"):
            below = part[1:]
        else:
            raise ValueError(f"unsupported version specifier {part!r} (use >=X or >=X,<Y)")
    if least is None:
        raise ValueError(f"{spec!r} has no lower bound")
    return least, below


def render(config: dict | None = None) -> str:
    """The install cell's source for ``config`` (default: ``course.toml``)."""
    config = config if config is not None else tomllib.loads(CONFIG.read_text())
    student = config["student"]
    return _TEMPLATE.format(requirement=student["requirement"], pip_args=list(student.get("pip_args", [])),
                            needs={name: _bounds(spec) for name, spec in DEPENDENCIES.items()},
                            install_yourself=INSTALL_YOURSELF)


def install_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"tags": [INSTALL_TAG]})


def with_install_cell(notebook: nbformat.NotebookNode, source: str) -> bool:
    """Put the install cell right after the title (replacing an older one); True if the notebook changed."""
    cells = notebook.cells
    existing = [i for i, cell in enumerate(cells) if is_install_cell(cell)]
    if len(existing) == 1 and cells[existing[0]].source == source:
        return False
    for index in reversed(existing):
        del cells[index]
    position = 1 if cells and cells[0].cell_type == "markdown" else 0
    cells.insert(position, install_cell(source))
    return True


def main() -> None:
    source = render()
    update_or_check(__doc__.split("\n\n")[0], "cell", lambda notebook, name: with_install_cell(notebook, source))


if __name__ == "__main__":
    main()
