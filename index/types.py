"""Records that flow through ingestion: articles, passages and rejected inputs."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One news article with its metadata; ``id`` is stable across re-ingestion."""

    id: str
    text: str
    title: str = ""
    source: str = ""
    url: str = ""
    date: str = ""
    lang: str = ""
    origin: str = ""  # file (and line) it came from, for messages

    @property
    def text_hash(self) -> str:
        """Hash of the text alone: identical articles under different names share it."""
        return _digest(_normalise(self.text))

    @property
    def content_hash(self) -> str:
        """Hash of text and metadata: any change means the stored passages must be replaced."""
        fields = (self.text, self.title, self.source, self.url, self.date, self.lang)
        return _digest("\x1f".join(_normalise(f) for f in fields))


@dataclass(frozen=True)
class Passage:
    """A span ``text == article.text[start:end]`` of an article, the unit that is embedded and cited."""

    id: str
    article: Article
    n: int
    start: int
    end: int
    text: str

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata stored with the passage (Chroma accepts only scalars)."""
        a = self.article
        return {
            "article_id": a.id,
            "title": a.title,
            "source": a.source,
            "url": a.url,
            "date": a.date,
            "date_int": date_to_int(a.date),
            "lang": a.lang,
            "text_hash": a.text_hash,
            "content_hash": a.content_hash,
            "n": self.n,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class PassageRecord:
    """A stored passage as the index gives it back: its text, where it sits and what it comes from."""

    id: str
    text: str
    article_id: str
    title: str = ""
    source: str = ""
    url: str = ""
    date: str = ""
    lang: str = ""
    start: int = 0
    end: int = 0

    @classmethod
    def from_metadata(cls, passage_id: str, text: str, meta: dict[str, Any]) -> PassageRecord:
        """A record from a stored passage's text and flat metadata (as :meth:`Passage.metadata` wrote it)."""
        return cls(
            id=passage_id,
            text=text,
            article_id=str(meta.get("article_id", "")),
            title=str(meta.get("title", "")),
            source=str(meta.get("source", "")),
            url=str(meta.get("url", "")),
            date=str(meta.get("date", "")),
            lang=str(meta.get("lang", "")),
            start=int(meta.get("start", 0) or 0),
            end=int(meta.get("end", 0) or 0),
        )


@dataclass(frozen=True)
class Rejection:
    """An input that could not be ingested, with a message that says where and why."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass
class IngestReport:
    """What one ingestion run did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    passages_written: int = 0
    passages_deleted: int = 0
    sentences_written: int = 0  # sentence vectors stored (of new passages, and of old ones that had none)
    seconds: float = 0.0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def passages_per_second(self) -> float:
        """Written passages per second of the whole run."""
        return self.passages_written / self.seconds if self.seconds > 0 else 0.0


def passage_id(article: Article, start: int, end: int) -> str:
    """Content-derived id: the same article content and span always give the same id."""
    return _digest(f"{article.id}\x1f{article.content_hash}\x1f{start}:{end}")


def sentence_id(passage_id: str, start: int, end: int) -> str:
    """A sentence of a passage: the passage's id and the sentence's span in the article's text.

    Article offsets, so a passage trimmed of its overlap at question time names its sentences alike.
    """
    return f"{passage_id}:{start}:{end}"


def date_to_int(date: str) -> int:
    """``'2018-12-10'`` -> 20181210, ``'2018-12'`` -> 20181200; 0 when unknown (for range filters)."""
    digits = [p for p in date[:10].replace("/", "-").split("-") if p.isdigit()]
    if not digits or len(digits[0]) != 4:
        return 0
    parts = [int(p) for p in digits[:3]] + [0, 0]
    return parts[0] * 10000 + parts[1] * 100 + parts[2]


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
