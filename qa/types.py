"""Records the answering side hands to its callers (CLI, web app, API)."""

from __future__ import annotations

from dataclasses import dataclass
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
