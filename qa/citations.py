"""Checking an LLM's answer in code: the numbers it states, and its [n] markers, parsed, checked and repaired.

For every sentence of a generated answer: markers that name no passage are dropped; the cited
passage must contain a sentence similar enough to it (cosine of sentence embeddings, threshold
calibrated on XQuAD), and not clearly less similar than the best retrieved passage; otherwise
the citation is re-pointed to the passage that supports it best, or marked unsupported. The
passages' sentences come from the evidence, already embedded; only the answer is embedded here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from index.chunking import split_sentences
from index.embeddings import Encoder
from qa.evidence import Evidence
from qa.types import Citation, Hit

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
    answer: str, evidence: Evidence, order: list[int], encoder: Encoder, threshold: float, margin: float = 0.02
) -> list[CheckedSentence]:
    """Check every sentence of ``answer`` against the passages, numbered from 1 in ``order`` (hit indices).

    A citation stands when its passage supports the sentence (similarity >= ``threshold``) within
    ``margin`` of the best-supporting passage; otherwise it is re-pointed to that passage.
    """
    pieces: list[tuple[str, list[int]]] = []
    for span in split_sentences(answer):
        text, numbers = parse_markers(answer[span.start : span.end])
        if text:
            pieces.append((text, [n for n in numbers if 1 <= n <= len(order)]))
        elif numbers and pieces:  # a marker on its own after the sentence it belongs to
            pieces[-1][1].extend(n for n in numbers if 1 <= n <= len(order))
    number_of = {hit: n for n, hit in enumerate(order, 1)}
    units = [s for s in evidence.sentences if s.hit_index in number_of]
    if not pieces or not units:
        return [CheckedSentence(text, tuple(dict.fromkeys(cited)), False, 0.0, None) for text, cited in pieces]
    claims = encoder.encode_passages([text for text, _ in pieces])
    sims = claims @ np.stack([s.vector for s in units]).T
    passage_of = np.array([number_of[s.hit_index] for s in units])
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
        support = max(
            (best_by_passage[n] for n in numbers if n in best_by_passage), default=max(best_by_passage.values())
        )
        quote = None
        if numbers and numbers[0] in best_by_passage:
            mask = passage_of == numbers[0]
            j = int(np.flatnonzero(mask)[np.argmax(sims[i][mask])])
            quote = (numbers[0], units[j].start, units[j].end)
        checked.append(CheckedSentence(text, tuple(numbers), bool(good), support, quote))
    return checked


def render(checked: list[CheckedSentence]) -> str:
    """The answer text again, each sentence followed by its (repaired) markers."""
    return " ".join(s.text + "".join(f" [{n}]" for n in s.cited) for s in checked)


def cite(
    raw: str, hits: list[Hit], evidence: Evidence, order: list[int], encoder: Encoder, threshold: float
) -> tuple[str, list[Citation]]:
    """The checked answer text, renumbered [1]..[m] in order of first citation, and its citations."""
    checked = check_answer(raw, evidence, order, encoder, threshold)
    renumber: dict[int, int] = {}
    citations: list[Citation] = []
    for s in checked:
        for n in s.cited:
            if n not in renumber:
                renumber[n] = len(renumber) + 1
                hit = hits[order[n - 1]]
                quote = _quote(hit, s.best_quote if s.best_quote and s.best_quote[0] == n else None)
                citations.append(Citation(renumber[n], hit, *quote, supported=s.supported))
    return render([replace(s, cited=tuple(renumber[n] for n in s.cited)) for s in checked]), citations


def _quote(hit: Hit, unit: tuple[int, int, int] | None) -> tuple[str, int, int]:
    if unit is None:
        return "", 0, 0
    _, start, end = unit
    return hit.text[start - hit.start : end - hit.start], start, end


_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NUMBER = re.compile(r"\d+(?:[.٫]\d+)?")
_GROUPED = re.compile(r"(?<=\d)[,،٬](?=\d{3}(?!\d))")


def _numbers(text: str) -> list[str]:
    text = _GROUPED.sub("", text.translate(_DIGITS))  # 17,500 and ١٧٥٠٠ are 17500
    return [n.replace("٫", ".") for n in _NUMBER.findall(text)]


def ungrounded_numbers(answer: str, evidence: list[str]) -> list[str]:
    """Numbers of two or more digits in ``answer`` (outside [n] markers) that no evidence text contains.

    Numbers are where a small model's inventions are both frequent and checkable across
    languages: digits read the same in an English answer and an Arabic article. One-digit
    numbers are left alone (articles often spell them out as words).
    """
    known = {n for text in evidence for n in _numbers(text)}
    claimed = _numbers(re.sub(r"\[\d+\]", " ", answer))
    return list(dict.fromkeys(n for n in claimed if sum(c.isdigit() for c in n) >= 2 and n not in known))
