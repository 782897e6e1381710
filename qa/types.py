"""Records the answering side hands to its callers (CLI, web app, API), and the events of a streamed answer.

A streamed answer is a sequence of events:

- :class:`Status`: what is happening before the first word (searching, reading, writing);
- :class:`Token`: a piece of answer text;
- :class:`Reset`: everything streamed so far is replaced (the model failed, or its answer was
  checked and repaired); what follows is the answer;
- :class:`Final`: the finished :class:`Answer`. Its text equals the tokens since the last reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.types import PassageRecord


@dataclass(frozen=True, eq=False)
class Sentence:
    """One sentence of a retrieved passage: its offsets in the article, its vector, its similarity to the query."""

    hit_index: int  # which hit it belongs to (set when the hits are final; -1 before)
    text: str
    start: int
    end: int
    vector: np.ndarray
    score: float  # cosine similarity to the query (what thresholds compare)
    rank: float  # what orders the evidence: ``score``, plus the second encoder's share across scripts


@dataclass(frozen=True)
class Hit:
    """One retrieved passage, where it came from, and how well it matched.

    ``similarity`` is the cosine similarity of the question and passage vectors (what abstention
    and citation support compare against calibrated thresholds); ``rank_score`` is what ordered
    the hits (fused rank score, BM25 score or cosine, by retrieval mode).
    """

    passage_id: str
    article_id: str
    title: str
    source: str
    url: str
    date: str
    lang: str
    text: str
    start: int
    end: int
    similarity: float
    rank_score: float = 0.0
    # the passage's sentences, embedded when the retriever re-ranked by them (reused as evidence)
    sentences: tuple[Sentence, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def of(cls, record: PassageRecord, similarity: float, rank_score: float) -> Hit:
        """A hit for a stored passage."""
        r = record
        return cls(
            r.id, r.article_id, r.title, r.source, r.url, r.date, r.lang, r.text, r.start, r.end, similarity, rank_score
        )


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the passage, and the sentence of it that backs the claim."""

    n: int
    hit: Hit
    quote: str = ""  # the cited sentence (a verbatim slice of the passage), "" when unknown
    quote_start: int = 0  # offsets of the quote in the article text
    quote_end: int = 0
    supported: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the CLI and the HTTP API."""
        h = self.hit
        return {
            "n": self.n,
            "article_id": h.article_id,
            "title": h.title,
            "source": h.source,
            "url": h.url,
            "date": h.date,
            "text": h.text,
            "start": h.start,
            "end": h.end,
            "score": round(h.similarity, 4),
            "supported": self.supported,
            "quote": self.quote,
            "quote_start": self.quote_start,
            "quote_end": self.quote_end,
        }


@dataclass
class Answer:
    """A finished answer: text with [n] markers, its citations, and how it was made."""

    question: str
    answer: str
    language: str
    abstained: bool
    backend: str
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    notice: str = ""  # why the answer is not what was asked for (e.g. quotes because the model failed)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the CLI and the HTTP API."""
        return {
            "question": self.question,
            "answer": self.answer,
            "language": self.language,
            "abstained": self.abstained,
            "backend": self.backend,
            "notice": self.notice,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True)
class Status:
    """What the answerer does before the first word: ``searching``, ``reading``, ``queued``, ``writing``."""

    stage: str
    passages: int = 0  # how many passages are being read
    place: int = 0  # queued: how many answers are ahead in line for the language model


@dataclass(frozen=True)
class Token:
    """A piece of answer text."""

    text: str


@dataclass(frozen=True)
class Reset:
    """Everything streamed so far is replaced by what follows; ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class Final:
    """The finished answer."""

    answer: Answer


Event = Status | Token | Reset | Final
