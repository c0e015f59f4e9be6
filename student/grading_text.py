"""The paragraph on grading that every course notebook carries, written once.

It says what course.md ("Student workflow") says and what the grader does (``autograder.grading.notebook``):
the notebook runs once, top to bottom, graded cells judged on what the cells above them defined, a cell
interrupted after the grader's time limit; and how a student checks that before submitting
(``python -m autograder.validate``, in the student distribution). Its numbers come from
``autograder.toolkit.cells``, the grader's own.

``python -m student.grading_text`` writes it into the first markdown cell of every notebook in ``source/``
(replacing the paragraph that starts with :data:`HEADING`; then regenerate ``release/``); ``--check`` exits 1 if
any notebook's paragraph differs.
"""

from __future__ import annotations

import re
import textwrap

import nbformat

from autograder.toolkit.cells import NOTEBOOK_CELL_TIMEOUT
from student.source_notebooks import update_or_check

HEADING = "**How this notebook is graded.**"
WIDTH = 112
_UNBROKEN = "\u00a0"  # a space that wrapping does not break at, while it wraps

_TEMPLATE = (
    HEADING + " Write your code only between `# YOUR CODE HERE` and the end of the function (or class), replacing "
    "`raise NotImplementedError()`; keep every name and signature exactly as given. The cells that start with "
    "`from autograder...` are graded checks: run them to test your work; each prints `PASSED <check>` or names "
    "the property that failed, the input that broke it, what was expected, what your code returned and a hint. "
    "Grading runs your notebook once, top to bottom, as *Kernel → Restart & Run All* does: every code cell you "
    "can see (your answers, cells you added, the teaching cells as you left them) except the setup cell at the "
    "top and the graded cells, which are the instructor's and may add hidden tests. Each graded cell is judged "
    "on what the cells above it defined: a helper or a constant from any earlier cell works, one defined only "
    "below the graded cell does not. A cell that runs longer than {timeout:.0f} s is interrupted, and the cells "
    "after it still run. Before you submit, run *Kernel → Restart & Run All*, then, in a terminal in the "
    "notebook's folder, `python -m autograder.validate {notebook}` (it comes with the course package the setup "
    "cell installs): it runs the notebook the same way in a fresh Python and prints `PASSED` or `FAILED` for "
    "every graded cell."
)


def render(notebook_file: str) -> str:
    """The paragraph for the notebook file named ``notebook_file`` (e.g. ``dqn.ipynb``), wrapped as markdown."""
    text = _TEMPLATE.format(timeout=NOTEBOOK_CELL_TIMEOUT, notebook=notebook_file)
    # a `code span` is never broken across lines (a command must read, and copy, as one line)
    kept = re.sub(r"`[^`]*`", lambda span: span.group().replace(" ", _UNBROKEN), text)
    wrapped = textwrap.fill(kept, WIDTH, break_long_words=False, break_on_hyphens=False)
    return wrapped.replace(_UNBROKEN, " ")


def paragraphs(markdown: str) -> list[str]:
    """The markdown's paragraphs (blocks separated by blank lines)."""
    return [block.strip("\n") for block in markdown.split("\n\n") if block.strip()]


def with_paragraph(notebook: nbformat.NotebookNode, text: str) -> bool:
    """Put ``text`` in place of the first markdown cell's paragraph that starts with :data:`HEADING` (or after
    the cell's first paragraph, the title, if none does); True if the notebook changed."""
    cell = next(c for c in notebook.cells if c.cell_type == "markdown")
    blocks = paragraphs(cell.source)
    at = next((i for i, block in enumerate(blocks) if block.startswith(HEADING)), None)
    if at is not None and blocks[at] == text:
        return False
    if at is None:
        blocks.insert(min(1, len(blocks)), text)
    else:
        blocks[at] = text
    cell.source = "\n\n".join(blocks)
    return True


def main() -> None:
    update_or_check(__doc__.split("\n\n")[0], "paragraph",
                    lambda notebook, name: with_paragraph(notebook, render(name)))


if __name__ == "__main__":
    main()
