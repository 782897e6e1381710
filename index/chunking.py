"""Split article text into sentences and pack them into overlapping passages.

Sentence ends are ``. ! ? ؟ …`` followed by white space (closing quotes or brackets such as
``»`` may stand between), CJK ``。！？`` and line breaks. A sentence longer than the passage
limit is split between words, preferably after a clause mark (``، ؛ , ; :``). Every passage
is a verbatim slice of the text with its character offsets, so citations can point at the
exact span. Does not detect abbreviations ("U.S. Army"
may end a sentence early; the passage packing makes that harmless).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A match starts only at the first mark of a run ("(?<!...)"): otherwise a long run of dots with
# no space after it is tried from every position, which is quadratic (40,000 dots took 19 s).
_SENTENCE_END = re.compile(r"(?<![.!?؟…])[.!?؟…]+[\"'»”’)\]]*(?=\s)|[。！？]+[」』”）]*|\n")
_WORD = re.compile(r"\S+")
_CLAUSE_MARK = re.compile(r"[،؛,;:]$")


@dataclass(frozen=True)
class Span:
    """Character offsets ``[start, end)`` into the article text."""

    start: int
    end: int


def split_sentences(text: str) -> list[Span]:
    """Sentence spans, stripped of surrounding white space; together they hold every non-space char."""
    spans = []
    begin = 0
    for match in _SENTENCE_END.finditer(text):
        spans.extend(_strip(text, begin, match.end()))
        begin = match.end()
    spans.extend(_strip(text, begin, len(text)))
    return spans


def split_passages(text: str, target_words: int = 90, max_words: int = 160) -> list[Span]:
    """Pack sentences into passages of about ``target_words`` words, overlapping by one sentence.

    A passage grows while it stays within ``target_words``; one still under half the target may
    take a further sentence up to ``max_words``. Paragraphs (line breaks) are topical units: a
    passage of at least half the target ends at a paragraph break rather than take part of a
    paragraph that does not fit, and a passage that starts a paragraph needs no overlap. No
    passage exceeds ``max_words`` words.
    """
    if target_words > max_words:
        raise ValueError(f"target_words ({target_words}) must not exceed max_words ({max_words})")
    units = [piece for s in split_sentences(text) for piece in _split_long(text, s, max_words)]
    counts = [_count_words(text, u) for u in units]
    paragraph = _paragraph_numbers(text, units)
    paragraph_words: dict[int, int] = {}
    for p, c in zip(paragraph, counts):
        paragraph_words[p] = paragraph_words.get(p, 0) + c
    passages: list[Span] = []
    i = 0
    while i < len(units):
        j, words = i + 1, counts[i]
        while j < len(units):
            new_paragraph = paragraph[j] != paragraph[j - 1]
            if new_paragraph and words >= target_words // 2 and words + paragraph_words[paragraph[j]] > target_words:
                break
            grown = words + counts[j]
            if grown <= target_words or (words < target_words // 2 and grown <= max_words):
                words, j = grown, j + 1
            else:
                break
        passages.append(Span(units[i].start, units[j - 1].end))
        if j == len(units):
            break
        # Overlap by one sentence within a paragraph, unless the passage is a single sentence (no
        # progress otherwise) or that sentence would not fit beside the next one.
        overlap = paragraph[j] == paragraph[j - 1] and j - 1 > i and counts[j - 1] + counts[j] <= max_words
        i = j - 1 if overlap else j
    return passages


def _paragraph_numbers(text: str, units: list[Span]) -> list[int]:
    """For each unit, the number of its paragraph (a line break between units starts a new one)."""
    numbers, current = [], 0
    for k, unit in enumerate(units):
        if k and "\n" in text[units[k - 1].end : unit.start]:
            current += 1
        numbers.append(current)
    return numbers


def _strip(text: str, start: int, end: int) -> list[Span]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [Span(start, end)] if start < end else []


def _count_words(text: str, span: Span) -> int:
    return len(text[span.start : span.end].split())


def _split_long(text: str, span: Span, max_words: int) -> list[Span]:
    """Split a sentence of more than ``max_words`` words between words, preferring clause marks."""
    words = [(m.start() + span.start, m.end() + span.start) for m in _WORD.finditer(text[span.start : span.end])]
    if len(words) <= max_words:
        return [span]
    pieces = []
    first = 0
    while len(words) - first > max_words:
        cut = first + max_words  # index of the first word of the next piece
        for k in range(cut - 1, first + max_words // 2 - 1, -1):
            if _CLAUSE_MARK.search(text[words[k][0] : words[k][1]]):
                cut = k + 1
                break
        pieces.append(Span(words[first][0], words[cut - 1][1]))
        first = cut
    pieces.append(Span(words[first][0], words[-1][1]))
    return pieces
