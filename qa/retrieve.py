"""Retrieval: the dense leg (cross-lingual, through LangChain's Chroma) fused with BM25 by reciprocal rank.

BM25 votes only for passages written in the question's script (Arabic script or not): across
scripts words cannot match, only numbers and stray names, which with many passages is noise
(docs/benchmarks.md: with 5,000 distractors an unrestricted vote cost English questions
against Arabic articles hit@1 and bar@2000). So an English question about Arabic articles is
ranked by the dense leg alone, and within one script the fusion is the usual hybrid. Each hit
carries its cosine similarity to the question (lexical-only hits too), whatever ordered it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np

from index.lexical import LexicalIndex
from index.store import DenseStore
from index.types import PassageRecord
from qa.query import Query
from qa.types import Hit

Mode = Literal["dense", "lexical", "hybrid"]
# Languages written in Arabic script (the language codes articles carry).
ARABIC_SCRIPT_LANGS = ("ar", "fa", "ur", "ps", "ckb", "ku", "ug", "sd", "arz", "ary", "apc", "acm")
RRF_K = 60
CANDIDATES = 50  # passages taken from each leg before fusing


class Retriever:
    """Finds the passages that answer a query, in any language, with optional metadata filters."""

    def __init__(
        self, dense: DenseStore, lexical: LexicalIndex | None = None, mode: Mode = "hybrid", trim: bool = True
    ):
        """Search ``dense`` (and ``lexical`` unless ``mode`` is dense); ``trim`` cuts overlapping text."""
        self.dense, self.lexical, self.mode, self.trim = dense, lexical, mode, trim

    def search(self, query: Query, k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query``, best first."""
        if not self.trim:
            return self._ranked(query, k, where)
        return trim_overlaps(self._ranked(query, 2 * k, where))[:k]

    def _ranked(self, query: Query, k: int, where: dict[str, Any] | None) -> list[Hit]:
        n = max(k, CANDIDATES)
        dense = self.dense.search(query.vector, n, where) if self.mode != "lexical" else []
        if self.mode == "dense" or self.lexical is None:
            return [Hit.of(record, sim, sim) for record, sim in dense[:k]]
        lexical = self.lexical.search(query.text, n, self.lexical_where(query, where))
        if self.mode == "lexical":
            return self._hits(query, [(pid, score) for pid, score in lexical[:k]], {})
        known = {record.id: (record, sim) for record, sim in dense}
        return self._hits(query, self.fuse([r.id for r, _ in dense], [pid for pid, _ in lexical])[:k], known)

    def lexical_where(self, query: Query, where: dict[str, Any] | None) -> dict[str, Any] | None:
        """The filter for the lexical leg: ``where``, and only passages in the query's script."""
        script = {"lang": {"$in" if query.arabic else "$nin": list(ARABIC_SCRIPT_LANGS)}}
        return {"$and": [where, script]} if where else script

    def fuse(self, dense: list[str], lexical: list[str]) -> list[tuple[str, float]]:
        """Reciprocal rank fusion: score = Σ 1 / (k + rank) over the legs, best first."""
        scores: dict[str, float] = {}
        for ranking in (dense, lexical):
            for rank, pid in enumerate(ranking):
                scores[pid] = scores.get(pid, 0.0) + 1.0 / (RRF_K + rank + 1)
        return sorted(scores.items(), key=lambda item: item[1], reverse=True)

    def _hits(
        self, query: Query, ranked: list[tuple[str, float]], known: dict[str, tuple[PassageRecord, float]]
    ) -> list[Hit]:
        """Hits for ranked ids; passages the dense leg did not return are read with their vectors."""
        missing = self.dense.get([pid for pid, _ in ranked if pid not in known])
        hits = []
        for pid, score in ranked:
            if pid in known:
                record, similarity = known[pid]
            elif pid in missing:
                record, vector = missing[pid]
                similarity = float(np.dot(vector, query.vector))
            else:
                continue  # deleted since the lexical index saw it
            hits.append(Hit.of(record, similarity, score))
        return hits


def trim_overlaps(hits: list[Hit], min_fraction: float = 0.25) -> list[Hit]:
    """Cut from each passage the text a better-ranked passage of the same article already holds.

    Neighbouring passages share a sentence; without this the shared sentence is read twice. A
    passage left with less than ``min_fraction`` of its text is dropped. Offsets stay exact.
    """
    covered: dict[str, list[tuple[int, int]]] = {}
    out = []
    for hit in hits:
        spans = covered.setdefault(hit.article_id, [])
        start, end = _largest_uncovered(hit.start, hit.end, spans)
        text = hit.text[start - hit.start : end - hit.start]
        stripped = text.strip()
        if len(stripped) < min_fraction * len(hit.text):
            continue
        start += len(text) - len(text.lstrip())
        end = start + len(stripped)
        spans.append((start, end))
        out.append(replace(hit, text=stripped, start=start, end=end))
    return out


def _largest_uncovered(start: int, end: int, spans: list[tuple[int, int]]) -> tuple[int, int]:
    pieces = [(start, end)]
    for a, b in spans:
        pieces = [p for s, e in pieces for p in ((s, min(e, a)), (max(s, b), e)) if p[0] < p[1]]
    return max(pieces, key=lambda p: p[1] - p[0], default=(start, start))
