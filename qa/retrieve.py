"""Retrieval: dense (cross-lingual, through LangChain's Chroma) fused with BM25 by reciprocal rank.

The lexical leg only helps when the question shares words with the passages. An English question
about Arabic articles shares almost none, so its lexical votes are mostly noise; the fusion
therefore weights the lexical leg by the question's script (see ``Fusion``), with weights chosen
by measurement on XQuAD (docs/benchmarks.md).
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from index.language import is_arabic_script
from index.store import PassageStore
from qa.errors import QAError
from qa.types import Hit

MAX_QUESTION_CHARS = 2000
Mode = Literal["dense", "lexical", "hybrid"]


class BadQuestion(QAError, ValueError):
    """The question cannot be searched for; the message says why."""


# Languages written in Arabic script (the language codes articles carry).
ARABIC_SCRIPT_LANGS = ("ar", "fa", "ur", "ps", "ckb", "ku", "ug", "sd", "arz", "ary", "apc", "acm")


@dataclass(frozen=True)
class Fusion:
    """Reciprocal rank fusion weights: score = Σ weight / (k + rank) over the legs."""

    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight_arabic: float = 1.0  # question in Arabic script
    lexical_weight_other: float = 1.0  # question in another script
    # BM25 votes only for passages written in the question's script (Arabic script or not): across
    # scripts words cannot match, only numbers and stray names, which with many passages is noise
    # (docs/benchmarks.md: with 5,000 distractors an unrestricted vote cost English questions
    # against Arabic articles hit@1 and bar@2000). Within a script it is the usual hybrid.
    same_script_only: bool = True
    candidates: int = 50  # from each leg


@dataclass
class Retriever:
    """Finds the passages that answer a question, in any language, with optional metadata filters."""

    store: PassageStore
    mode: Mode = "hybrid"
    fusion: Fusion = field(default_factory=Fusion)
    trim_overlaps: bool = True  # passages overlap by a sentence: return each piece of text once
    lexical_check_seconds: float = 30.0  # how often to look for changes made by other processes
    _checked: float = 0.0

    def retrieve(self, question: str, k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
        """The ``k`` best passages for ``question``, best first."""
        if not self.trim_overlaps:
            return self._ranked(question, k, where)
        return trim_overlaps(self._ranked(question, 2 * k, where))[:k]

    def _ranked(self, question: str, k: int, where: dict[str, Any] | None) -> list[Hit]:
        question = clean_question(question)
        lexical_weight = self._lexical_weight(question)
        dense: list[tuple[str, str, dict[str, Any], float]] = []
        if self.mode != "lexical":
            vector = self.store.embeddings.encode_queries([question])[0]
            dense = self.store.dense_search(vector, max(k, self.fusion.candidates), where)
        if self.mode == "dense" or lexical_weight == 0.0:
            return [Hit.from_document(pid, text, meta, score) for pid, text, meta, score in dense[:k]]
        lexical = self._lexical(question, max(k, self.fusion.candidates), where)
        if self.mode == "lexical":
            found = self.store.get_passages([pid for pid, _ in lexical[:k]])
            return [Hit.from_document(pid, *found[pid], score) for pid, score in lexical[:k] if pid in found]
        return self._fuse(dense, lexical, lexical_weight, k)

    def _lexical_weight(self, question: str) -> float:
        if self.mode == "lexical":
            return 1.0
        if is_arabic_script(question):
            return self.fusion.lexical_weight_arabic
        return self.fusion.lexical_weight_other

    def _lexical(self, question: str, k: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        if self.store.lexical is None:
            return []
        if self.fusion.same_script_only:
            op = "$in" if is_arabic_script(question) else "$nin"
            script = {"lang": {op: list(ARABIC_SCRIPT_LANGS)}}
            where = {"$and": [where, script]} if where else script
        now = time.monotonic()
        if now - self._checked > self.lexical_check_seconds:
            self.store.sync_lexical()
            self._checked = now
        return self.store.lexical.search(question, k, where)

    def _fuse(
        self,
        dense: list[tuple[str, str, dict[str, Any], float]],
        lexical: list[tuple[str, float]],
        lexical_weight: float,
        k: int,
    ) -> list[Hit]:
        f = self.fusion
        scores: dict[str, float] = {}
        for rank, (pid, *_rest) in enumerate(dense):
            scores[pid] = scores.get(pid, 0.0) + f.dense_weight / (f.rrf_k + rank + 1)
        for rank, (pid, _) in enumerate(lexical):
            scores[pid] = scores.get(pid, 0.0) + lexical_weight / (f.rrf_k + rank + 1)
        best = sorted(scores, key=scores.__getitem__, reverse=True)[:k]
        known = {pid: (text, meta, sim) for pid, text, meta, sim in dense}
        missing = self.store.get_passages([pid for pid in best if pid not in known])
        hits = []
        for pid in best:
            if pid in known:
                text, meta, sim = known[pid]
            elif pid in missing:
                # Found by the lexical leg alone: no dense similarity, and 0 keeps abstention conservative.
                (text, meta), sim = missing[pid], 0.0
            else:
                continue  # deleted since the lexical index saw it
            hits.append(Hit.from_document(pid, text, meta, sim))
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


def clean_question(question: str) -> str:
    """The question with white space folded and control characters dropped.

    Raises :class:`BadQuestion` when nothing is left or it is too long.
    """
    question = " ".join("".join(c for c in question if c.isspace() or unicodedata.category(c) != "Cc").split())
    if not question:
        raise BadQuestion("The question is empty: type a question about the articles.")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadQuestion(f"The question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS}).")
    return question


def retrieve(store: PassageStore, question: str, k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
    """Dense-only retrieval: the ``k`` passages closest in meaning to ``question``."""
    return Retriever(store, mode="dense").retrieve(question, k, where)
