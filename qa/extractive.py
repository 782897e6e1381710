"""Evidence sentences: the sentences of the retrieved passages that best answer the question.

They are the extractive back end's answer (quoted verbatim), what the LLM is given to read, and
what citation verification compares answer sentences against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.chunking import split_sentences
from index.embeddings import PassageEmbeddings
from qa.types import Hit

_MIN_WORDS = 3  # shorter "sentences" are headings or fragments


@dataclass(frozen=True)
class Evidence:
    """One sentence of a retrieved passage, with its offsets in the article and its similarity."""

    hit_index: int
    text: str
    start: int
    end: int
    score: float


def evidence_sentences(
    question_vector: np.ndarray, hits: list[Hit], embeddings: PassageEmbeddings, max_hits: int = 5
) -> list[Evidence]:
    """Every sentence of the first ``max_hits`` passages, most similar to the question first.

    Overlapping passages share sentences; each sentence counts once, under its best-ranked passage.
    """
    candidates: list[tuple[int, str, int, int]] = []
    seen: set[tuple[str, int]] = set()
    for i, hit in enumerate(hits[:max_hits]):
        for span in split_sentences(hit.text):
            text = hit.text[span.start : span.end]
            key = (hit.article_id, hit.start + span.start)
            if len(text.split()) >= _MIN_WORDS and key not in seen:
                seen.add(key)
                candidates.append((i, text, hit.start + span.start, hit.start + span.end))
    if not candidates:
        return []
    vectors = embeddings.encode_passages([c[1] for c in candidates])
    scores = vectors @ question_vector
    ranked = sorted(zip(candidates, scores), key=lambda cs: -float(cs[1]))
    return [Evidence(i, text, start, end, float(score)) for (i, text, start, end), score in ranked]


def pick(evidence: list[Evidence], max_sentences: int = 3, margin: float = 0.03) -> list[Evidence]:
    """The best sentence and up to ``max_sentences - 1`` more within ``margin`` of it, in text order."""
    if not evidence:
        return []
    best = evidence[0].score
    chosen = [e for e in evidence[:max_sentences] if e.score >= best - margin]
    # Reading order: by passage rank, then position in the article.
    return sorted(chosen, key=lambda e: (e.hit_index, e.start))
