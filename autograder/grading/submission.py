"""What a submission may consist of: regular files of its own, and notebooks nbgrader can read.

A submission folder is the student's: it may hold a symbolic link to the gradebook, to an instructor notebook
or to a classmate's work, a hard link to a file elsewhere, a FIFO or a device. Each such entry is refused with
a one-line reason and nothing it points to is read or copied, by the batch grader and by plain ``nbgrader
autograde``/``generate_feedback`` alike (``install_copy_guard``). Notebooks that cannot be graded (not JSON,
no notebook, a wrong name) get a reason a student can act on.
"""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from pathlib import Path

MAX_FILE_BYTES = 50_000_000
MAX_TOTAL_BYTES = 200_000_000
SKIPPED_FOLDERS = (".ipynb_checkpoints", "__pycache__", ".hypothesis", ".git")


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _walk(folder: Path):
    """(relative path, lstat) of every entry below ``folder``, never following a link."""
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                if entry.name not in SKIPPED_FOLDERS:
                    stack.append(Path(entry.path))
                continue
            yield Path(entry.path).relative_to(folder), info


def refused_files(folder: Path | None) -> list[tuple[str, str]]:
    """(relative path, reason) of every entry of a submission folder that is refused."""
    if folder is None or not folder.is_dir():
        return []
    entries = list(_walk(folder))
    inside = Counter((info.st_dev, info.st_ino) for _, info in entries if stat.S_ISREG(info.st_mode))
    refused = []
    for relative, info in entries:
        if not stat.S_ISREG(info.st_mode):
            refused.append((str(relative), f"{_kind(info.st_mode)}, not a file of your own: refused, not read"))
        elif info.st_nlink > inside[(info.st_dev, info.st_ino)]:
            refused.append((str(relative), "a hard link to a file outside your submission: refused, not read"))
    return refused


def refusal(path: Path, folder: Path) -> str:
    """Why the notebook at ``path`` must not be graded, or "" when it is a regular file of its own."""
    try:
        info = os.lstat(path)
    except OSError:
        return ""  # nbgrader itself reports a notebook that is not there
    if not stat.S_ISREG(info.st_mode):
        return f"the submitted {path.name} is {_kind(info.st_mode)}; submit the notebook file itself"
    if info.st_nlink > 1 and dict(refused_files(folder)).get(path.name):
        return f"the submitted {path.name} is a hard link to a file elsewhere; submit the notebook file itself"
    return ""


def regular_files(folder: Path) -> dict[str, bytes]:
    """The files beside a notebook (not notebooks, nothing refused), as the student's code may open them."""
    refused = dict(refused_files(folder))
    files, total = {}, 0
    for relative, info in _walk(folder) if folder.is_dir() else ():
        name = str(relative)
        if name in refused or name.endswith(".ipynb") or info.st_size > MAX_FILE_BYTES:
            continue
        total += info.st_size
        if total > MAX_TOTAL_BYTES:
            break
        files[name] = (folder / relative).read_bytes()
    return files


def copy_submission(source: Path, target: Path) -> list[tuple[str, str]]:
    """Copy the regular files of ``source`` to ``target``; return what was refused (and not copied)."""
    refused = refused_files(source)
    skip = {name for name, _ in refused}
    target.mkdir(parents=True, exist_ok=True)
    for relative, _ in _walk(source):
        if str(relative) in skip:
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes((source / relative).read_bytes())
    return refused


def notebook_problem(path: Path) -> str:
    """Why nbgrader cannot grade this notebook file, or "" when it can."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return f"{path.name} is not a text file (not UTF-8); submit the .ipynb file Jupyter saved"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return f"{path.name} is not valid JSON (line {error.lineno}, column {error.colno}): it is damaged; " \
               "download it again from Jupyter (File > Download) and resubmit"
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        return f"{path.name} is JSON but not a Jupyter notebook"
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # noqa: BLE001 - any reading failure is a reason, never a crash
        return f"{path.name} is not a notebook nbformat can read ({type(error).__name__}: {str(error)[:120]})"
    return ""


def submission_problems(folder: Path, expected: list[str]) -> tuple[list[str], list[str]]:
    """(reasons that stop grading, notes) for a submission folder that should hold the ``expected`` notebooks."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return [f"the submission folder is empty: submit {', '.join(expected)}"], []
    present = sorted(p.name for p in folder.iterdir() if p.name.endswith(".ipynb"))
    problems, notes = [], []
    for name in expected:
        path = folder / name
        if not os.path.lexists(path):
            others = ", ".join(present) or "no notebook"
            problems.append(f"no notebook named {name} (found: {others}); rename your notebook to {name} "
                            "and resubmit")
            continue
        reason = refusal(path, folder)
        if reason:
            problems.append(reason)
            continue
        problem = notebook_problem(path)
        if problem:
            problems.append(problem)
        elif json.loads(path.read_text(encoding="utf-8")).get("nbformat", 4) < 4:
            notes.append(f"{name} was saved in the old notebook format 3; it was converted to format 4 and graded")
    return problems, notes


def upgrade_old_notebooks(folder: Path) -> None:
    """Rewrite nbformat 3 notebooks (already copied) in format 4, which nbgrader's checks expect."""
    import nbformat

    for path in folder.glob("*.ipynb"):
        if json.loads(path.read_text(encoding="utf-8")).get("nbformat", 4) < 4:
            nbformat.write(nbformat.read(str(path), as_version=4), str(path))


def submitted_folder(autograded: Path, resources: dict) -> Path | None:
    """The student's submitted folder behind an autograded one (nbgrader's default directory layout)."""
    info = resources.get("nbgrader", {})
    student, assignment = info.get("student"), info.get("assignment")
    if autograded.name != assignment or autograded.parent.name != student:
        return None
    return autograded.parent.parent.parent / "submitted" / student / assignment


def plain_text(note: str) -> str:
    """A note on one markdown line, with nothing a browser would take as markup."""
    return " ".join(note.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def install_copy_guard() -> None:
    """Make nbgrader's converters copy only regular files of a submission (autograde copies submitted/ to
    autograded/, generate_feedback autograded/ to feedback/): its file listing skips refused entries."""
    from nbgrader.converters import base

    if getattr(base.find_all_files, "rlir_guarded", False):
        return
    original = base.find_all_files

    def find_regular_files(path: str, exclude=None) -> list[str]:
        refused = {os.path.join(path, name) for name, _ in refused_files(Path(path))}
        return [f for f in original(path, exclude) if f not in refused]

    find_regular_files.rlir_guarded = True
    base.find_all_files = find_regular_files
