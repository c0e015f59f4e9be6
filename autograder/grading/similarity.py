"""Near-identical code between students, found with copydetect's winnowing, the release's template subtracted.

A student's own code is what they wrote: their answer cells and the code cells they added (graded test cells and
the release's locked cells are the course's). copydetect tokenises it (identifiers become ``V``/``F``, comments
and strings go), fingerprints every k-gram, drops the fingerprints of the release (the template every student
starts from), and measures the share of each student's remaining code that the other's fingerprints cover. Renamed
variables and reordered helpers leave those shares unchanged; independently written solutions share little.
"""

from __future__ import annotations

import functools
import io
import itertools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from autograder.grading.notebook import is_answer_cell, is_graded_test_cell

NOISE = 25  # copydetect's noise threshold: the shortest match (characters of tokenised code) that counts
GUARANTEE = 25  # copydetect's guarantee threshold: every match this long is found (window = 1)
THRESHOLD = 0.7  # a pair is flagged when at least this share of EACH student's own code matches the other's
MIN_MATCHED = 100  # ...and the match covers at least this many tokenised characters (a two-liner proves nothing)
MAX_NOTEBOOK_BYTES = 20_000_000  # larger notebooks are not read (their code is not compared)
CELL_BREAK = "\n\n\n"  # between the cells of one student's code (and of the template)
_SOLUTION_BLOCK = re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION", re.DOTALL)


@dataclass(frozen=True)
class SimilarPair:
    """Two students whose own code is near-identical: the share of each one's code that matches the other's,
    and the matching character spans of each one's code (for the side-by-side view)."""

    first: str
    second: str
    share_first: float
    share_second: float
    matched: int  # tokenised characters of the first student's code that match
    spans_first: tuple[tuple[int, int], ...]
    spans_second: tuple[tuple[int, int], ...]
    code_first: str
    code_second: str

    @property
    def similarity(self) -> float:
        """The smaller share: near-identical means most of both students' code matches."""
        return min(self.share_first, self.share_second)

    def to_dict(self) -> dict:
        """What report.json keeps of the pair (the code itself is shown in report.html)."""
        return {"students": [self.first, self.second], "similarity": round(self.similarity, 4),
                "share": {self.first: round(self.share_first, 4), self.second: round(self.share_second, 4)},
                "matched_characters": self.matched}


def _code_cells(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def own_code(nb: nbformat.NotebookNode, course_cells: set[str], given: set[str] = frozenset()) -> str:
    """The code a student wrote in ``nb``: answer cells and added code cells, in notebook order, less the cells
    left exactly as the release gave them (``given``: stripped sources). Graded test cells and the cells the
    release locks (``course_cells``: their grade ids) are the course's, not theirs."""
    parts = []
    for cell in _code_cells(nb):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if is_graded_test_cell(cell) or (grade_id in course_cells and not is_answer_cell(cell)):
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if source.strip() and source.strip() not in given:
            parts.append(source.rstrip())
    return CELL_BREAK.join(parts) + "\n"


def template_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The code cells a release notebook gives students, stripped (solution blocks removed, should it be an
    instructor notebook); joined with CELL_BREAK they are the template subtracted from everyone's code."""
    return [_SOLUTION_BLOCK.sub("", c.source).strip() for c in _code_cells(nb)]


def course_cell_ids(nb: nbformat.NotebookNode) -> set[str]:
    """Grade ids of the release's cells that are not answer cells (locked code, graded tests)."""
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") and not is_answer_cell(c)}


def read_notebook_safely(path: Path) -> nbformat.NotebookNode | None:
    """A notebook file of a submission, or None when it is not a regular, readable, reasonably sized notebook."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None
        return nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable notebook has no code to compare
        return None


def _fingerprint(code: str, boilerplate: np.ndarray):
    from copydetect import CodeFingerprint

    return CodeFingerprint("code.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate, fp=io.StringIO(code))


@functools.lru_cache(maxsize=8)
def boilerplate_hashes(template: str) -> np.ndarray:
    """copydetect's fingerprints of the template, to be subtracted from every student's."""
    return np.unique(np.array(sorted(_fingerprint(template, np.array([])).hashes), dtype=np.int64))


def _spans(slices) -> tuple[tuple[int, int], ...]:
    if len(slices) == 0 or len(slices[0]) == 0:
        return ()
    return tuple((int(start), int(end)) for start, end in zip(slices[0], slices[1], strict=True))


def compare(codes: dict[str, str], template: str, threshold: float = THRESHOLD) -> list[SimilarPair]:
    """Every pair of students in ``codes`` (student -> own code) whose similarity reaches ``threshold``, most
    similar first."""
    from copydetect import compare_files

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # copydetect warns per file
    boilerplate = boilerplate_hashes(template)
    prints = {student: _fingerprint(code, boilerplate) for student, code in sorted(codes.items())}
    pairs = []
    for (first, a), (second, b) in itertools.combinations(prints.items(), 2):
        if not a.hashes or not b.hashes:
            continue
        matched, (share_a, share_b), (slices_a, slices_b) = compare_files(a, b)
        pair = SimilarPair(first, second, float(share_a), float(share_b), int(matched), _spans(slices_a),
                           _spans(slices_b), codes[first], codes[second])
        if flagged((pair.share_first, pair.share_second, pair.matched), threshold):
            pairs.append(pair)
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))


def similarity(first: str, second: str, template: str = "") -> tuple[float, float, int]:
    """(share of ``first``, share of ``second``, matched characters) of two pieces of code, ``template``
    subtracted: what :func:`compare` decides on, for one pair."""
    from copydetect import compare_files

    boilerplate = boilerplate_hashes(template)
    a, b = _fingerprint(first, boilerplate), _fingerprint(second, boilerplate)
    if not a.hashes or not b.hashes:
        return 0.0, 0.0, 0
    matched, (share_a, share_b), _ = compare_files(a, b)
    return float(share_a), float(share_b), int(matched)


def flagged(shares: tuple[float, float, int], threshold: float = THRESHOLD) -> bool:
    """Whether a pair with these (share, share, matched) is reported as near-identical."""
    return min(shares[0], shares[1]) >= threshold and shares[2] >= MIN_MATCHED
