"""The course's assignments, discovered: every module of this package (``fixtures`` aside) is one assignment.

An assignment module declares, at its top, ``FOLDER`` (its folder under ``source/`` and ``release/``) and
``CONTRACT`` (the names its graded cells call, the course's public contract), then its checks; its id is the
module's name. Adding an assignment means adding its module and its notebook, editing no list. The registry
reads those two declarations without importing the module (which would load torch), and the points from the
nbgrader metadata of the graded cells of the source notebook, the one place nbgrader itself reads them.
"""

from __future__ import annotations

import ast
import functools
import importlib
import json
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent
NOT_ASSIGNMENTS = frozenset({"fixtures"})
COURSE_ROOT = PACKAGE_DIR.parents[1]  # the course repository (source/ and release/ lie here, not in the wheel)


@dataclass(frozen=True)
class Assignment:
    """One assignment: its id, its folder, the names its graded cells call."""

    id: str
    folder: str
    contract: tuple[str, ...]

    @property
    def module_name(self) -> str:
        return f"{__name__}.{self.id}"

    def module(self) -> ModuleType:
        """The checks module (imported on first use)."""
        return importlib.import_module(self.module_name)

    def source_notebook(self, root: Path = COURSE_ROOT) -> Path:
        """The instructor notebook (solutions, hidden tests) in ``root/source/<folder>/``."""
        (notebook,) = sorted((root / "source" / self.folder).glob("*.ipynb"))
        return notebook

    def release_notebook(self, root: Path = COURSE_ROOT) -> Path:
        """The student notebook nbgrader generated from it."""
        return root / "release" / self.folder / self.source_notebook(root).name

    def points(self, root: Path = COURSE_ROOT) -> dict[str, float]:
        """grade id -> points of every graded cell, as the source notebook's nbgrader metadata states them."""
        cells = json.loads(self.source_notebook(root).read_text())["cells"]
        meta = [cell.get("metadata", {}).get("nbgrader", {}) for cell in cells]
        return {m["grade_id"]: float(m.get("points", 0)) for m in meta if m.get("grade")}


def _declarations(path: Path) -> dict[str, object]:
    """The module-level ``FOLDER`` and ``CONTRACT`` of an assignment module, read as literals."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("FOLDER", "CONTRACT"):
                found[node.targets[0].id] = ast.literal_eval(node.value)
    return found


@functools.cache
def registry() -> dict[str, Assignment]:
    """id -> :class:`Assignment`, in the order of their folders (the course's order)."""
    found = []
    for info in pkgutil.iter_modules([str(PACKAGE_DIR)]):
        if info.ispkg or info.name in NOT_ASSIGNMENTS or info.name.startswith("_"):
            continue
        declared = _declarations(PACKAGE_DIR / f"{info.name}.py")
        if "FOLDER" not in declared or "CONTRACT" not in declared:
            raise ImportError(f"{__name__}.{info.name} declares no FOLDER and CONTRACT; every module here is an "
                              "assignment (see docs/adding_an_assignment.md)")
        if re.sub(r"^\d+_", "", str(declared["FOLDER"])) != info.name:
            raise ImportError(f"{__name__}.{info.name}: FOLDER {declared['FOLDER']!r} must be the id with an "
                              "optional numeric prefix")
        found.append(Assignment(info.name, str(declared["FOLDER"]), tuple(declared["CONTRACT"])))
    return {a.id: a for a in sorted(found, key=lambda a: a.folder)}


def assignment_ids() -> tuple[str, ...]:
    return tuple(registry())


def assignment(name: str) -> Assignment:
    """By id (``dqn``) or folder (``02_dqn``); ValueError naming the known ones otherwise."""
    bare = re.sub(r"^\d+_", "", name)
    if bare not in registry():
        raise ValueError(f"unknown assignment {name!r}; expected one of {', '.join(registry())}")
    return registry()[bare]
