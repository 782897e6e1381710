"""Records the answering side hands to its callers (CLI, web app, API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with where it came from and how well it matched."""

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
    score: float

    @classmethod
    def from_document(cls, passage_id: str, text: str, meta: dict[str, Any], score: float) -> Hit:
        """Build a hit from a stored passage's text and metadata."""
        return cls(
            passage_id=passage_id,
            article_id=str(meta.get("article_id", "")),
            title=str(meta.get("title", "")),
            source=str(meta.get("source", "")),
            url=str(meta.get("url", "")),
            date=str(meta.get("date", "")),
            lang=str(meta.get("lang", "")),
            text=text,
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            score=score,
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
            "score": round(h.score, 4),
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
    notice: str = ""  # e.g. why the extractive fallback answered instead of the LLM
    model_citations: list[Hit] = field(default_factory=list)  # what an LLM cited before checking
    model_text: str = ""  # the LLM's reply before its citations were checked

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
class Token:
    """A piece of answer text, streamed before the finished :class:`Answer`."""

    text: str
