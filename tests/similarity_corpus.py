"""The similarity check measured on the corpus: pairs of answers by different authors must not be flagged.

Authors: the instructor (the solution and every mutant, which is the solution with a substitution) and each
alternative solution of ``tests/corpus/<assignment>.py``. A pair compares the answer cells both wrote (the
functions an alternative replaces), the release's template subtracted. An alternative whose text is mostly the
instructor's (built from it by substitutions, line ratio >= DERIVED) is the instructor's too: its pairs with the
instructor's code are near-identical by construction and must be flagged.

Run ``python -m tests.similarity_corpus`` for the table.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from autograder.assignments import registry
from autograder.grading import similarity
from autograder.grading.notebook import read_notebook
from tests.helpers import ROOT, answer_cells, corpus

DERIVED = 0.6  # line-level ratio (difflib) above which an alternative counts as the instructor's own text


@dataclass(frozen=True)
class CorpusPair:
    assignment: str
    first: str
    second: str
    functions: tuple[str, ...]
    same_author: bool
    shares: tuple[float, float, int]

    @property
    def flagged(self) -> bool:
        return similarity.flagged(self.shares)


def _lines_ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False).ratio()


def corpus_pairs() -> Iterator[CorpusPair]:
    """Every pair of authors (and of a mutant with an alternative) over the functions both wrote."""
    for name, assignment in sorted(registry().items()):
        release = read_notebook(assignment.release_notebook(ROOT))
        template = similarity.CELL_BREAK.join(similarity.template_cells(release))
        instructor = {k.removeprefix("answer_"): v for k, v in answer_cells(assignment.source_notebook(ROOT)).items()}
        authors = {"instructor": instructor, **corpus(name).ALTERNATIVES}

        def derived(alternative: str, functions: set[str], authors: dict = authors) -> bool:
            text = "\n".join(authors[alternative][f] for f in sorted(functions))
            return _lines_ratio(text, "\n".join(authors["instructor"][f] for f in sorted(functions))) >= DERIVED

        for (first, a), (second, b) in itertools.combinations(authors.items(), 2):
            common = sorted(set(a) & set(b))
            if not common:
                continue
            same = all(derived(x, set(common)) if x != "instructor" else True for x in (first, second))
            yield CorpusPair(name, first, second, tuple(common), same, similarity.similarity(
                "\n\n".join(a[f] for f in common), "\n\n".join(b[f] for f in common), template))
        for mutant, (alternative, functions) in itertools.product(corpus(name).MUTANTS,
                                                                  corpus(name).ALTERNATIVES.items()):
            if mutant.function in functions:
                yield CorpusPair(name, mutant.name, alternative, (mutant.function,),
                                 derived(alternative, {mutant.function}),
                                 similarity.similarity(mutant.source, functions[mutant.function], template))


def main() -> None:
    pairs = list(corpus_pairs())
    for p in pairs:
        print(f"{p.assignment:20} {p.first:42} {p.second:30} {'same' if p.same_author else 'diff'} "
              f"{p.shares[0]:.2f} {p.shares[1]:.2f} {p.shares[2]:6d} {'FLAGGED' if p.flagged else ''}")
    different = [p for p in pairs if not p.same_author]
    same = [p for p in pairs if p.same_author]
    print(f"different authors: {sum(p.flagged for p in different)} of {len(different)} pairs flagged "
          f"(highest similarity {max(min(p.shares[:2]) for p in different):.2f}, threshold "
          f"{similarity.THRESHOLD}); same author: {sum(p.flagged for p in same)} of {len(same)} flagged")


if __name__ == "__main__":
    main()
