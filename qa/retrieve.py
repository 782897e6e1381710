"""Retrieval: dense (cross-lingual) and BM25 candidates fused by reciprocal rank, then re-ranked by sentence.

BM25 votes only for passages written in the question's script (Arabic script or not): across
scripts words cannot match, only numbers and stray names, which with many passages is noise
(docs/benchmarks.md: with 5,000 distractors an unrestricted vote cost English questions
against Arabic articles hit@1 and bar@2000).

A passage vector averages ~90 words; a question is answered by one sentence. So the best 30
fused candidates are scored again: passage cosine + the cosine of the passage's best sentence +
0.1 × its BM25 score (relative to the best candidate's). Fitted on XQuAD with 1,000 news
distractors and confirmed on ARCD (docs/benchmarks.md "retrieval-rerank"): English questions
about Arabic articles hit@5 +2.5 points over dense, Arabic +1.5 (XQuAD) and +2.2 (ARCD) over
the fusion alone.

A question in Latin script about Arabic articles has no BM25 vote, so its names and numbers
are matched by consonant skeleton instead ("Broncos" meets «برونكوز», index/translit.py) and
add NAME_WEIGHT × the share found (passages in Arabic script only). XQuAD English, 1,000
distractors: see docs/benchmarks.md "retrieval-rerank-xquad"; Arabic questions are untouched.
The same keys also rank the Arabic passages that spell them, a names leg in the fusion
(``LexicalIndex.search_names``): dense search sometimes ranks an English question's Arabic
paragraph below the candidates re-ranked, and only its names tell (docs/benchmarks.md
"retrieval-names").

When some candidates are in the other script than the question (an English question about
Arabic articles, or an Arabic one about English articles), e5-small is the only one that ranked
them, and it ranks across languages less well than within one. Then the best 50 are re-ranked,
and every one gains CROSS_WEIGHT × a second encoder's best-sentence cosine (USE multilingual v3,
index/crosslingual.py). Fit on XQuAD English questions (1,000 distractors: hit@1 +4.9, hit@5
+1.3 points over the e5-only re-ranking), confirmed on the other direction, XQuAD's Arabic
questions about its English articles (docs/benchmarks.md "retrieval-cross-script").

An index may hold both scripts (Arabic news and some English articles). There e5-small's
preference for the question's own language decides: it scores a paragraph about 0.08 higher in
the question's language than its translation, so an English question about an Arabic article
meets English passages about other things first. So the passages of the other script are
ranked apart, a third list in the fusion (``_dense_legs``), and in the re-ranking a candidate in
the question's script loses OWN_SCRIPT_BIAS per cosine when others are in the other script.
Fit on XQuAD with every other article in English (docs/benchmarks.md "retrieval-mixed"); an index
of one script is untouched.

The sentences' vectors are read from the store, where ingestion wrote them (only a passage
stored without them is embedded here), and come back with their hits, so the answer step reads
them without looking them up again. Each hit carries its cosine similarity to the question
(lexical-only hits too), whatever ordered it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np

from index.crosslingual import CrossLingualEncoder
from index.embeddings import Encoder
from index.lexical import LexicalIndex
from index.store import DenseStore
from index.translit import arabic_keys, name_keys
from index.types import PassageRecord
from qa.evidence import (
    CROSS_WEIGHT,
    OWN_SCRIPT_BIAS,
    counts,
    cross_cosines,
    embed_sentences,
    holds_both_scripts,
    own_script_penalty,
)
from qa.query import ARABIC_SCRIPT_LANGS, Query, crosses_scripts
from qa.types import Hit, Sentence

Mode = Literal["dense", "lexical", "hybrid"]
RRF_K = 60
CANDIDATES = 50  # passages taken from each leg before fusing
RERANKED = 30  # fused candidates scored again by their best sentence
RERANKED_ACROSS = 50  # as many, when some are in the other script: the dense leg alone ranked those
BM25_WEIGHT = 0.1  # of the candidate's BM25 score relative to the best candidate's, in the re-ranking score
NAME_WEIGHT = 0.05  # × the share of a Latin-script question's names and numbers an Arabic passage holds
FILTERED_MAX = 5000  # the other script's passages get a filtered search up to this many, else a deeper one
DEEPER = 4  # × the candidates, for the unfiltered search the other script's passages are taken from


class Retriever:
    """Finds the passages that answer a query, in any language, with optional metadata filters."""

    def __init__(
        self,
        dense: DenseStore,
        lexical: LexicalIndex | None = None,
        mode: Mode = "hybrid",
        trim: bool = True,
        encoder: Encoder | None = None,
        name_weight: float = NAME_WEIGHT,
        cross: CrossLingualEncoder | None = None,
        cross_weight: float = CROSS_WEIGHT,
        reranked_across: int = RERANKED_ACROSS,
        split_scripts: bool = True,
        own_script_bias: float = OWN_SCRIPT_BIAS,
        filtered_max: int = FILTERED_MAX,
        names_leg: bool = True,
    ):
        """Search ``dense`` (and ``lexical`` unless ``mode`` is dense); ``trim`` cuts overlapping text.

        With ``encoder``, the candidates are re-ranked by their best sentence, which it embeds, and
        by ``name_weight`` × the share of a Latin-script question's names an Arabic passage spells.
        With ``cross`` too, when some candidates are in the other script than the question's,
        ``reranked_across`` are re-ranked and each gains ``cross_weight`` × that encoder's cosine
        of its best sentence, and those in the question's script lose ``own_script_bias`` per cosine. With
        ``split_scripts`` (and ``lexical``, which counts the passages of each language), the
        passages in the other script than the question's are also ranked densely on their own: by
        a filtered search up to ``filtered_max`` of them, else from a deeper unfiltered one. With
        ``names_leg`` (and ``lexical``), a Latin-script question's names and numbers also rank the
        Arabic-script passages that spell them, a fourth list in the fusion.
        """
        self.dense, self.lexical, self.mode, self.trim, self.encoder = dense, lexical, mode, trim, encoder
        self.split_scripts, self.own_script_bias, self.filtered_max = split_scripts, own_script_bias, filtered_max
        self.name_weight, self.cross, self.cross_weight, self.names_leg = name_weight, cross, cross_weight, names_leg
        self.reranked_across = reranked_across if cross is not None else RERANKED

    def search(self, query: Query, k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query``, best first."""
        depth = max(RERANKED, self.reranked_across)
        hits, bm25 = self._ranked(query, max(2 * k, depth) if self.encoder else 2 * k, where)
        if self.encoder is not None:
            across = any(crosses_scripts(query, hit) for hit in hits[:RERANKED])
            hits = self._rerank(query, hits[: self.reranked_across if across else RERANKED], bm25)
        return trim_overlaps(hits)[:k] if self.trim else hits[:k]

    def _ranked(self, query: Query, k: int, where: dict[str, Any] | None) -> tuple[list[Hit], dict[str, float]]:
        """The best ``k`` candidates, and the BM25 score of those the lexical leg found."""
        n = max(k, CANDIDATES)
        if self.mode == "dense" or self.lexical is None:
            dense = self.dense.search(query.vector, n, where)
            return [Hit.of(record, sim, sim) for record, sim in dense[:k]], {}
        lexical = self.lexical.search(query.text, n, self.lexical_where(query, where))
        bm25 = dict(lexical)
        if self.mode == "lexical":
            return self._hits(query, lexical[:k], {}), bm25
        dense, other = self._dense_legs(query, n, where)
        known = {record.id: (record, sim) for record, sim in dense + other}
        names = self._names_leg(query, n, where)
        fused = self.fuse([r.id for r, _ in dense], [pid for pid, _ in lexical], [r.id for r, _ in other], names)
        return self._hits(query, fused[:k], known), bm25

    def _rerank(self, query: Query, hits: list[Hit], bm25: dict[str, float]) -> list[Hit]:
        """Passage cosine + best sentence cosine + BM25_WEIGHT × relative BM25 (+ names); hits keep their sentences."""
        assert self.encoder is not None
        embedded = embed_sentences(hits, range(len(hits)), self.encoder, query.vector, self.dense.sentences)
        sentences = [embedded[i] for i in range(len(hits))]
        best_bm25 = max((bm25.get(h.passage_id, 0.0) for h in hits), default=0.0) or 1.0
        names = set() if query.arabic else name_keys(query.text)
        cross = self._cross_scores(query, hits, sentences)
        both = holds_both_scripts(query, hits)
        scored = []
        for i, (hit, own) in enumerate(zip(hits, sentences)):
            best = max((s.score for s in own if counts(s)), default=-1.0)
            score = hit.similarity + best + BM25_WEIGHT * bm25.get(hit.passage_id, 0.0) / best_bm25
            if names and hit.lang in ARABIC_SCRIPT_LANGS:  # other passages: BM25 already matches their words
                score += self.name_weight * len(names & arabic_keys(hit.text)) / len(names)
            score += self.cross_weight * cross.get(i, 0.0)
            score -= 2 * own_script_penalty(query, hit, both, self.own_script_bias)  # on both cosines
            scored.append(replace(hit, rank_score=score, sentences=tuple(own)))
        return sorted(scored, key=lambda h: h.rank_score, reverse=True)

    def _cross_scores(self, query: Query, hits: list[Hit], sentences: list[list[Sentence]]) -> dict[int, float]:
        """The second encoder's best-sentence cosine of every hit, when some hit is in the other script.

        Every candidate is scored, not only those across: a bonus for one script would move the
        two as groups, while the second encoder's similarities are comparable across languages.
        """
        if self.cross is None or not self.cross_weight or not any(crosses_scripts(query, hit) for hit in hits):
            return {}
        texts = [[s.text for s in own if counts(s)] for own in sentences]
        cosines = iter(cross_cosines(self.cross, query, [t for own in texts for t in own]))
        return {i: max(next(cosines) for _ in own) for i, own in enumerate(texts) if own}

    def _names_leg(self, query: Query, n: int, where: dict[str, Any] | None) -> list[str]:
        """Arabic-script passages ranked by the names and numbers of a Latin-script question they spell.

        Dense search ranks an English question's Arabic paragraph by meaning, across languages,
        and sometimes below the candidates re-ranked; BM25 cannot vote across scripts. A name
        ("Broncos", «برونكوز») is spelled alike in both (index/translit.py), so the passages that
        spell the question's names are one more ranking, with the fusion's weight. XQuAD English
        questions, top 5: +0.5 points at 1,000 news distractors, +2.0 at 5,000 (docs/benchmarks.md
        "retrieval-names").
        """
        if query.arabic or not self.names_leg or self.lexical is None:
            return []
        script = {"lang": {"$in": list(ARABIC_SCRIPT_LANGS)}}
        found = self.lexical.search_names(name_keys(query.text), n, {"$and": [where, script]} if where else script)
        return [pid for pid, _ in found]

    def lexical_where(self, query: Query, where: dict[str, Any] | None) -> dict[str, Any] | None:
        """The filter for the lexical leg: ``where``, and only passages in the query's script."""
        script = {"lang": {"$in" if query.arabic else "$nin": list(ARABIC_SCRIPT_LANGS)}}
        return {"$and": [where, script]} if where else script

    def _dense_legs(
        self, query: Query, n: int, where: dict[str, Any] | None
    ) -> tuple[list[tuple[PassageRecord, float]], list[tuple[PassageRecord, float]]]:
        """The ``n`` nearest passages; when the index holds both scripts, those in each script, ranked apart.

        In an index holding both scripts, a question's nearest passages are in its own script:
        e5-small scores a paragraph about 0.08 higher in the question's language than its
        translation (XQuAD), and a few passages of one script sit apart in the HNSW graph. An
        Arabic question about an English article among 1,000 Arabic news articles found it in
        its top 5 for 4 % of XQuAD's questions. Ranked on their own, the other script's passages
        reach the fusion. Chroma's filter costs in proportion to the passages it lets through
        (2 ms for 257 of 4,882, 21 ms for 4,625), so past FILTERED_MAX they are taken from a
        deeper unfiltered search instead: so many cannot all sit apart. Each passage is in one
        of the two rankings: one in both would get two votes in the fusion.
        """
        languages = self.lexical.languages() if self.split_scripts and self.lexical is not None else {}
        known = [lang for lang in languages if lang]  # '': no letters, so no script
        other = sorted(lang for lang in known if (lang in ARABIC_SCRIPT_LANGS) != query.arabic)
        count = sum(languages[lang] for lang in other)
        if not count or count == sum(languages[lang] for lang in known):  # one script: the dense leg ranks it
            return self.dense.search(query.vector, n, where), []
        if count <= self.filtered_max:
            script = {"lang": {"$in": other}}
            across = self.dense.search(query.vector, n, {"$and": [where, script]} if where else script)
            nearest = self.dense.search(query.vector, n, where)
        else:
            nearest = self.dense.search(query.vector, DEEPER * n, where)
            across = [(record, sim) for record, sim in nearest if record.lang in other][:n]
        return [(record, sim) for record, sim in nearest if record.lang not in other][:n], across

    def fuse(self, *rankings: list[str]) -> list[tuple[str, float]]:
        """Reciprocal rank fusion: score = Σ 1 / (k + rank) over the legs, best first."""
        scores: dict[str, float] = {}
        for ranking in rankings:
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
        kept = tuple(s for s in hit.sentences if start <= s.start and s.end <= end)
        out.append(replace(hit, text=stripped, start=start, end=end, sentences=kept))
    return out


def _largest_uncovered(start: int, end: int, spans: list[tuple[int, int]]) -> tuple[int, int]:
    pieces = [(start, end)]
    for a, b in spans:
        pieces = [p for s, e in pieces for p in ((s, min(e, a)), (max(s, b), e)) if p[0] < p[1]]
    return max(pieces, key=lambda p: p[1] - p[0], default=(start, start))
