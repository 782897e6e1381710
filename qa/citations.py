"""Citation checking in code: a small model's [n] markers are parsed, checked and repaired.

For every sentence of a generated answer: markers that name no passage are dropped; the cited
passage must contain a sentence similar enough to it (cosine of sentence embeddings, threshold
calibrated on XQuAD), and not clearly less similar than the best retrieved passage; otherwise
the citation is re-pointed to the passage that supports it best, or marked unsupported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.chunking import split_sentences
from index.embeddings import PassageEmbeddings
from qa.types import Hit

MARKER = re.compile(r"\s*\[(\d{1,3})\]")


@dataclass(frozen=True)
class CheckedSentence:
    """One answer sentence after checking: its text without markers, and what backs it."""

    text: str
    cited: tuple[int, ...]  # 1-based passage numbers after repair
    supported: bool
    support: float  # best similarity to a sentence of a cited passage
    best_quote: tuple[int, int, int] | None  # (passage number, start, end in the article) of the backing sentence


def parse_markers(text: str) -> tuple[str, list[int]]:
    """The text without [n] markers, and the numbers in order of appearance."""
    return MARKER.sub("", text).strip(), [int(n) for n in MARKER.findall(text)]


def check_answer(
    answer: str, hits: list[Hit], embeddings: PassageEmbeddings, threshold: float, margin: float = 0.02
) -> list[CheckedSentence]:
    """Check every sentence of ``answer`` against the passages ``hits`` (numbered from 1).

    A citation stands when its passage supports the sentence (similarity >= ``threshold``) within
    ``margin`` of the best-supporting passage; otherwise it is re-pointed to that passage.
    """
    pieces = []
    for span in split_sentences(answer):
        text, numbers = parse_markers(answer[span.start : span.end])
        if text:
            pieces.append((text, [n for n in numbers if 1 <= n <= len(hits)]))
        elif numbers and pieces:  # a marker on its own after the sentence it belongs to
            pieces[-1][1].extend(n for n in numbers if 1 <= n <= len(hits))
    if not pieces:
        return []
    units = [
        (n, hit.start + s.start, hit.start + s.end) for n, hit in enumerate(hits, 1) for s in split_sentences(hit.text)
    ]
    unit_texts = [hits[n - 1].text[a - hits[n - 1].start : b - hits[n - 1].start] for n, a, b in units]
    vectors = embeddings.encode_passages([t for t, _ in pieces] + unit_texts)
    sims = vectors[: len(pieces)] @ vectors[len(pieces) :].T
    passage_of = np.array([n for n, _, _ in units])
    checked = []
    for i, (text, cited) in enumerate(pieces):
        best_by_passage = {n: float(sims[i][passage_of == n].max()) for n in set(passage_of.tolist())}
        cited = list(dict.fromkeys(cited))
        best_n = max(best_by_passage, key=best_by_passage.__getitem__)
        # A cited passage must support the sentence, and not much worse than the best one does.
        bar = max(threshold, best_by_passage[best_n] - margin)
        good = [n for n in cited if best_by_passage.get(n, -1.0) >= bar]
        if not good:
            good = [best_n] if best_by_passage[best_n] >= threshold else []
        # Unsupported and nothing better: keep the model's own markers, flagged as unsupported.
        numbers = good or cited
        support = max((best_by_passage[n] for n in numbers), default=max(best_by_passage.values()))
        quote = None
        if numbers:
            mask = passage_of == numbers[0]
            j = int(np.flatnonzero(mask)[np.argmax(sims[i][mask])])
            quote = units[j]
        checked.append(CheckedSentence(text, tuple(numbers), bool(good), support, quote))
    return checked


def render(checked: list[CheckedSentence]) -> str:
    """The answer text again, each sentence followed by its (repaired) markers."""
    return " ".join(s.text + "".join(f" [{n}]" for n in s.cited) for s in checked)
