"""Fingerprints that say when a grading record still holds: of a submission, of one graded cell, of a grader.

* A submission's: the names and bytes of its files (a refused entry by its name and kind, never followed).
* A graded cell's: its source and points in the instructor notebook, the source of the checks it imports and of
  everything of the course they reach (functions, classes, constants, transitively), the assignment's sandbox
  settings and fixtures, the code every verdict goes through (toolkit, sandbox, notebook runner), the budgets and
  limits, and the versions of Python and the numeric libraries. Edit one check and only the cells that use it
  change fingerprint.
* A grader's: every graded cell's fingerprint with its notebook and id.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import inspect
import json
import stat
import sys
from pathlib import Path
from types import ModuleType

from autograder.grading import submission as submission_files
from autograder.grading.notebook import _nbgrader, is_graded_test_cell, python_source

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # autograder/
# The code every verdict goes through, whichever check runs: hashed into every cell's fingerprint.
COMMON_CODE = ("toolkit", "sandbox", "grading/notebook.py")
LIBRARIES = ("numpy", "torch", "hypothesis", "scipy", "gymnasium")
_CONSTANTS = (int, float, str, bytes, bool, type(None), tuple, list, dict, frozenset, set)


def digest(*parts: bytes | str) -> str:
    """``sha256:<hex>`` of the parts, each length-prefixed (so that no two sequences collide)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return f"sha256:{h.hexdigest()}"


def submission_fingerprint(folder: Path) -> str:
    """The hash of a submission folder: relative names and bytes of its regular files; other entries (links,
    FIFOs, devices) by name and kind only."""
    parts: list[bytes | str] = []
    if Path(folder).is_dir():
        for relative, info in sorted(submission_files._walk(Path(folder)), key=lambda e: str(e[0])):
            parts.append(str(relative))
            if stat.S_ISREG(info.st_mode):
                parts.append((Path(folder) / relative).read_bytes())
            else:
                parts.append(f"<{stat.S_IFMT(info.st_mode):o}>")
    return digest(*parts)


def _files_digest(paths: list[Path]) -> list[str]:
    return [f"{p.relative_to(PACKAGE_ROOT)}:{digest(p.read_bytes())}" for p in sorted(paths)]


@functools.cache
def common_code() -> str:
    """The hash of the code every verdict goes through, and of the library versions the checks compute with."""
    paths: list[Path] = []
    for entry in COMMON_CODE:
        path = PACKAGE_ROOT / entry
        paths += [path] if path.is_file() else [p for p in path.rglob("*.py") if "__pycache__" not in p.parts]
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} absent")
    return digest(sys.version, *versions, *_files_digest(paths))


def _is_course_object(value) -> bool:
    module = getattr(value, "__module__", None) or ""
    return module == "autograder" or module.startswith("autograder.")


def _closure(value, seen: set[int], parts: list[str]) -> None:
    """Add the source of ``value`` (a function, class or module of the course) and of every course object its
    code names, transitively; constants by their repr."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, ModuleType):
        if value.__name__.split(".")[0] != "autograder":
            return  # a library: its version is in common_code()
        parts.append(f"module {value.__name__}:{digest(inspect.getsource(value))}")
        return
    if isinstance(value, _CONSTANTS):
        parts.append(repr(value)[:10_000])
        return
    target = inspect.unwrap(value) if callable(value) else value
    if not (_is_course_object(target) and (inspect.isfunction(target) or inspect.isclass(target))):
        return
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        parts.append(f"{target.__module__}.{getattr(target, '__qualname__', '?')}")
        return
    parts.append(f"{target.__module__}.{target.__qualname__}:{digest(source)}")
    namespace = vars(sys.modules[target.__module__])
    names = {node.id for node in ast.walk(ast.parse(inspect.cleandoc(source) if source[:1].isspace() else source))
             if isinstance(node, ast.Name)}
    for name in sorted(names):
        if name in namespace and not name.startswith("__"):
            _closure(namespace[name], seen, parts)


def _cell_imports(source: str) -> list:
    """The course objects a test cell imports (``from autograder.x import y``, ``import autograder.x``)."""
    objects = []
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return objects
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "autograder":
            module = importlib.import_module(node.module)
            for alias in node.names:
                if alias.name == "*":
                    objects.append(module)
                elif hasattr(module, alias.name):
                    objects.append(getattr(module, alias.name))
                else:
                    objects.append(importlib.import_module(f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            objects += [importlib.import_module(a.name) for a in node.names if a.name.split(".")[0] == "autograder"]
    return objects


def assignment_settings(module: ModuleType) -> str:
    """The hash of what an assignment sets for all its cells: contract, sandbox options, shared runs, fixtures."""
    fixtures = PACKAGE_ROOT / "assignments" / "fixtures"
    paths = [p for p in fixtures.rglob("*") if p.is_file() and "__pycache__" not in p.parts] if fixtures.exists() \
        else []
    settings = {"contract": list(getattr(module, "CONTRACT", ())),
                "sandbox": getattr(module, "SANDBOX_OPTIONS", {}), "shared": list(getattr(module, "SHARED_RUNS", ()))}
    return digest(json.dumps(settings, sort_keys=True, default=repr), *_files_digest(paths))


def cell_fingerprint(cell_source: str, points: float, module: ModuleType, options: dict) -> str:
    """The fingerprint of one graded cell of the instructor notebook (see the module docstring)."""
    parts: list[str] = []
    seen: set[int] = set()
    for value in _cell_imports(cell_source):
        _closure(value, seen, parts)
    return digest(common_code(), assignment_settings(module), json.dumps(options, sort_keys=True, default=repr),
                  cell_source, repr(float(points)), *parts)


def cell_fingerprints(trusted: dict[str, object], module: ModuleType, options: dict) -> dict[tuple[str, str], str]:
    """(notebook file name, grade id) -> fingerprint, for every graded cell of the instructor notebooks."""
    prints = {}
    for name, nb in sorted(trusted.items()):
        for cell in nb.cells:
            if is_graded_test_cell(cell):
                meta = _nbgrader(cell)
                prints[(name, meta.get("grade_id", "?"))] = cell_fingerprint(
                    cell.source, float(meta.get("points", 0)), module, options)
    return prints


def grader_fingerprint(cells: dict[tuple[str, str], str]) -> str:
    """The fingerprint of a grader: every graded cell's, with its notebook and id."""
    return digest(*(f"{name}/{grade_id}={value}" for (name, grade_id), value in sorted(cells.items())))
