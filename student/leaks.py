"""Find instructor-only text (answer cells' solutions, hidden tests) inside files meant for students.

Text is compared line by line with whitespace normalised and blank lines dropped: any run of ``WINDOW``
consecutive lines of a solution or hidden-test block that also appears, consecutively, in a student file is a
leak. A block shorter than that counts when it is long enough not to match by chance (``MIN_SHORT_CHARS``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

WINDOW = 4
MIN_SHORT_CHARS = 60
_BLOCKS = (("solution", "### BEGIN SOLUTION", "### END SOLUTION"),
           ("hidden tests", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))


@dataclass(frozen=True)
class Block:
    """One instructor-only block: which notebook and cell it is from, and its normalised lines."""

    kind: str
    where: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Leak:
    block: Block
    file: str
    text: str

    def __str__(self) -> str:
        return f"{self.file} holds {self.block.kind} text of {self.block.where}:\n    " + "\n    ".join(
            self.text.splitlines())


def normalised_lines(text: str) -> list[str]:
    """The non-blank lines of ``text`` with runs of whitespace made one space, ends stripped."""
    return [line for line in (re.sub(r"\s+", " ", raw).strip() for raw in text.splitlines()) if line]


def instructor_blocks(source: Path) -> list[Block]:
    """Every solution and hidden-test block of every instructor notebook under ``source``."""
    blocks = []
    for path in sorted(source.glob("*/*.ipynb")):
        notebook = nbformat.read(str(path), as_version=4)
        for index, cell in enumerate(notebook.cells):
            for kind, begin, end in _BLOCKS:
                for body in re.findall(re.escape(begin) + r"(.*?)" + re.escape(end), cell.source, re.S):
                    lines = tuple(normalised_lines(body))
                    if lines:
                        blocks.append(Block(kind, f"{path.relative_to(source)} cell {index}", lines))
    return blocks


def _windows(block: Block) -> Iterable[str]:
    if len(block.lines) < WINDOW:
        text = "\n".join(block.lines)
        if len(text) >= MIN_SHORT_CHARS:
            yield text
        return
    for start in range(len(block.lines) - WINDOW + 1):
        yield "\n".join(block.lines[start:start + WINDOW])


def find_leaks(files: dict[str, str], blocks: list[Block]) -> list[Leak]:
    """The windows of ``blocks`` found in ``files`` (name -> text), at most one per block and file."""
    texts = {name: "\n" + "\n".join(normalised_lines(text)) + "\n" for name, text in files.items()}
    leaks = []
    for block in blocks:
        for name, text in texts.items():
            window = next((w for w in _windows(block) if f"\n{w}\n" in text), None)
            if window is not None:
                leaks.append(Leak(block, name, window))
    return leaks
