"""Write a generated piece (the install cell, the grading paragraph) into every source notebook, or check it is
there: the one command-line loop both generators share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import nbformat

from student.distribution import ROOT


def update_or_check(description: str, what: str, update: Callable[[nbformat.NotebookNode, str], bool]) -> None:
    """``update(notebook, file name)`` puts the piece in place and says whether it changed anything; with
    ``--check`` nothing is written and the command exits 1 when a notebook is out of date."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help=f"only report notebooks whose {what} is out of date")
    check = parser.parse_args().check
    stale = []
    for path in sorted((ROOT / "source").glob("*/*.ipynb")):
        notebook = nbformat.read(str(path), as_version=4)
        if update(notebook, path.name):
            stale.append(path.relative_to(ROOT))
            if not check:
                nbformat.write(notebook, str(path))
    for path in stale:
        print(f"{'out of date' if check else 'updated'}: {path}")
    sys.exit(1 if check and stale else 0)
