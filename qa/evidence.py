"""Evidence: the sentences of the retrieved passages, embedded once, ranked by similarity to the query.

They are the extractive back end's answer (quoted verbatim), what the LLM is given to read, and
what citation checking compares the LLM's sentences against (``qa/citations.py`` reuses their
vectors rather than embedding them again).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from index.arabic import normalize, tokenize
from index.crosslingual import CrossLingualEncoder
from index.embeddings import Encoder
from index.ingest import passage_sentences
from index.store import SentenceVectors
from prompts import message
from qa.news import attribution, report_day
from qa.query import Query, crosses_scripts
from qa.types import Citation, Hit, Sentence

MIN_WORDS = 3  # shorter "sentences" are headings or fragments: never quoted, and they rank nothing


def counts(sentence: Sentence) -> bool:
    """Whether a sentence is long enough to quote or to rank a passage by."""
    return len(sentence.text.split()) >= MIN_WORDS


CROSS_WEIGHT = 0.15  # × the second encoder's cosine, added to rank passages and sentences when scripts differ
# Taken off each e5 cosine of a passage or sentence in the question's script when others are in the
# other script (ranking passages and sentences, and choosing the passage the refusal rule reads):
# e5-small scores a paragraph ~0.08 higher in the question's language than its translation (XQuAD,
# both directions). Fit on an index holding both (docs "retrieval-mixed"): 0.05 is the largest that
# cost questions about their own script's articles nothing.
OWN_SCRIPT_BIAS = 0.05


@dataclass(frozen=True)
class Evidence:
    """Every sentence of the passages read, and the ranked candidates for quoting."""

    sentences: list[Sentence]  # in passage order, then text order (duplicates across passages kept)
    ranked: list[Sentence]  # sentences of three words or more saying something new, best ``rank`` first
    second: float | None = None  # the second encoder's best cosine among ``ranked`` across scripts, if any


def holds_both_scripts(query: Query, hits: list[Hit]) -> bool:
    """Whether some of ``hits`` are in the question's script and some in the other (language '' is neither)."""
    return len({crosses_scripts(query, hit) for hit in hits if hit.lang}) == 2


def own_script_penalty(query: Query, hit: Hit, both: bool, bias: float) -> float:
    """What e5's preference for the question's script is worth per cosine for ``hit``.

    ``bias`` when ``both`` scripts are read and ``hit`` is in the question's, else 0.
    """
    return bias if both and not crosses_scripts(query, hit) else 0.0


def embed_sentences(
    hits: list[Hit],
    which: Iterable[int],
    encoder: Encoder,
    query_vector: np.ndarray,
    stored: SentenceVectors | None = None,
) -> dict[int, list[Sentence]]:
    """The sentences of ``hits[i]`` for each ``i`` in ``which``, with their vectors.

    Vectors stored at ingestion are read from ``stored``; the others are embedded, each distinct
    sentence once (a passage stored without them, or an index written before they were kept).
    """
    which = list(which)
    spans = [
        (i, hits[i], sid, s)
        for i in which
        for sid, s in passage_sentences(hits[i].passage_id, hits[i].start, hits[i].text)
    ]
    texts = [hit.text[s.start : s.end] for _, hit, _, s in spans]
    vectors: dict[str, np.ndarray] = {}
    if stored is not None and spans:
        ids = [sid for _, _, sid, _ in spans]
        found = stored.get(ids)
        vectors = {text: found[sid] for sid, text in zip(ids, texts) if sid in found}
    unique = [t for t in dict.fromkeys(texts) if t not in vectors]
    vectors.update(zip(unique, encoder.encode_sentences(unique)) if unique else ())
    embedded: dict[int, list[Sentence]] = {i: [] for i in which}
    for (i, hit, _, s), text in zip(spans, texts):
        v = vectors[text]
        score = float(v @ query_vector)
        embedded[i].append(Sentence(i, text, hit.start + s.start, hit.start + s.end, v, score, score))
    return embedded


def cross_cosines(cross: CrossLingualEncoder, query: Query, texts: list[str]) -> np.ndarray:
    """The second encoder's cosine of each text to the question (vectors cached by the encoder)."""
    if not texts:
        return np.zeros(0, np.float32)
    vectors = cross.encode([query.text, *texts])
    return vectors[1:] @ vectors[0]


def read_evidence(
    query: Query,
    hits: list[Hit],
    encoder: Encoder,
    cross: CrossLingualEncoder | None = None,
    weight: float = CROSS_WEIGHT,
    own_script_bias: float = OWN_SCRIPT_BIAS,
    stored: SentenceVectors | None = None,
) -> Evidence:
    """The passages' sentences (embedded by the retriever, or here when it did not), ranked for quoting.

    A sentence read more than once counts once in the ranking, under its best-ranked passage
    (the newest dated one, when the copies are word for word): overlapping passages share
    sentences, articles repeat themselves (a lead paragraph restated, Wikipedia's revised
    paragraphs in ARCD) and wire stories run in several papers word for word. Quoted twice, it
    took the place of another sentence among the few quoted or read. So does a sentence whose
    words a better-ranked one holds (:func:`distinct`).

    With ``cross``, when a passage is in the other script than the question, every sentence
    ranks by its cosine + ``weight`` × the second encoder's, as the retriever ranked the passages
    (its ``score`` stays e5's cosine, which thresholds read).
    When passages of both scripts are read, those in the question's lose ``own_script_bias``.
    Sentence vectors are read from ``stored`` where it holds them (:func:`embed_sentences`).
    """
    which = [i for i, hit in enumerate(hits) if not hit.sentences]
    embedded = embed_sentences(hits, which, encoder, query.vector, stored)
    sentences = []
    for i, hit in enumerate(hits):
        for s in hit.sentences or embedded[i]:
            score = float(s.vector @ query.vector)
            sentences.append(replace(s, hit_index=i, score=score, rank=score))
    copy: dict[str, int] = {}  # a wording → its place in candidates
    candidates: list[Sentence] = []
    for sentence in sentences:
        if not counts(sentence):
            continue
        key = same_wording(sentence.text)
        if key not in copy:
            copy[key] = len(candidates)
            candidates.append(sentence)
        elif report_day(hits[sentence.hit_index]) > report_day(hits[candidates[copy[key]].hit_index]):
            # the newest report that prints it, as by_time would have put first (same words, same score)
            candidates[copy[key]] = sentence
    second = None
    if cross is not None and candidates and any(crosses_scripts(query, hit) for hit in hits):
        cosines = cross_cosines(cross, query, [s.text for s in candidates])
        candidates = [replace(s, rank=s.score + weight * float(c)) for s, c in zip(candidates, cosines)]
        across = [float(c) for s, c in zip(candidates, cosines) if crosses_scripts(query, hits[s.hit_index])]
        second = max(across, default=None)
    both = holds_both_scripts(query, hits)
    if both:
        candidates = [
            replace(s, rank=s.rank - own_script_penalty(query, hits[s.hit_index], both, own_script_bias))
            for s in candidates
        ]
    ranked = distinct(sorted(candidates, key=lambda s: -s.rank))
    return Evidence(sentences, ranked, second)


NEW_WORDS = 0.1  # a sentence with no more than this share of content words of its own repeats a better one


def distinct(ranked: list[Sentence]) -> list[Sentence]:
    """``ranked`` (best first) without the sentences that say nothing a better-ranked one does not.

    A sentence goes when a better-ranked one holds all its content words (``tokenize``) but
    ``NEW_WORDS`` of them (none, below ten words): a revised copy of a paragraph's sentence, the
    same wire report with its source dropped. Below ten content words, one new word (a name, a
    number) keeps it.
    """
    kept: list[Sentence] = []
    held: list[set[str]] = []
    for sentence in ranked:
        words = set(tokenize(sentence.text))
        if any(len(words - other) <= NEW_WORDS * len(words) for other in held):
            continue
        kept.append(sentence)
        held.append(words)
    return kept


def same_wording(text: str) -> str:
    """What two copies of a sentence have in common: its letters as compared (``normalize``) and single spaces."""
    return " ".join(normalize(text).split())


def pick(ranked: list[Sentence], max_sentences: int = 3, margin: float = 0.03) -> list[Sentence]:
    """The first sentences of ``ranked`` (up to ``max_sentences``) within ``margin`` of the best one, in text order.

    ``ranked`` is best first (by ``rank``), or in time order (``qa.news.by_time``): the margin is
    measured from the best sentence either way.
    """
    if not ranked:
        return []
    best = max(s.rank for s in ranked)
    chosen = [s for s in ranked[:max_sentences] if s.rank >= best - margin]
    # Reading order: by passage rank, then position in the article.
    return sorted(chosen, key=lambda s: (s.hit_index, s.start))


def extractive_answer(
    chosen: list[Sentence], hits: list[Hit], lang: str, lead: str = "", first: int = 1
) -> tuple[str, list[Citation]]:
    """Quote the chosen sentences verbatim, each followed by the number of its passage (from ``first``).

    Each article's first quote is led by its source and date ("According to Al Watan (10 Dec
    2018): "); ``lead``: the line above the quotes (default: that they are quoted).
    """
    numbers: dict[int, int] = {}
    citations: list[Citation] = []
    parts = []
    led: set[str] = set()
    for e in chosen:
        hit = hits[e.hit_index]
        if e.hit_index not in numbers:
            numbers[e.hit_index] = len(numbers) + first
            citations.append(Citation(numbers[e.hit_index], hit, e.text, e.start, e.end))
        who = "" if hit.article_id in led else attribution(hit, lang)
        led.add(hit.article_id)
        parts.append(f"{who}«{e.text}» [{numbers[e.hit_index]}]")
    return (lead or message("extractive_lead", lang)) + "\n" + "\n".join(parts), citations
