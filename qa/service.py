"""The running service: one answerer and one index shared by the chat UI and the HTTP API.

Everything the front ends need beyond answering lives here, so the CLI, ``web/api.py`` and
``web/chat.py`` only translate: question filters into index filters, uploads into ingestion
(one at a time, whatever front end they come from), and the health of the parts.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from index.arabic import normalize
from index.dates import of_iso
from index.errors import StoreError
from index.hybrid import HybridIndex
from index.ingest import Chunking, ingest
from index.loaders import article_from_record, load_paths
from index.types import Article, IngestReport, Rejection
from qa.answer import Answerer, Turn
from qa.errors import BadRequest, NotFound
from qa.feedback import FeedbackStore
from qa.types import Answer, Event, Final

MAX_HISTORY_TURNS = 20
_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass(frozen=True)
class Filters:
    """What a question may be restricted to; every field is optional."""

    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    date_from: str = ""  # YYYY, YYYY-MM or YYYY-MM-DD, inclusive
    date_to: str = ""

    def where(self) -> dict[str, Any] | None:
        """The Chroma-style ``where`` filter both retrieval legs understand, or None."""
        clauses: list[dict[str, Any]] = []
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if self.languages:
            clauses.append({"lang": {"$in": list(self.languages)}})
        if self.date_from:
            clauses.append({"date_int": {"$gte": _date_bound(self.date_from, "date_from")}})
        if self.date_to:
            clauses.append({"date_int": {"$lte": _date_bound(self.date_to, "date_to", upper=True)}})
        if self.date_from and self.date_to and _date_bound(self.date_from, "") > _date_bound(self.date_to, "", True):
            raise BadRequest(f"date_from ({self.date_from}) is after date_to ({self.date_to})")
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _date_bound(value: str, name: str, upper: bool = False) -> int:
    period = of_iso(value) if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value) else None
    if period is None:  # not the form, or no such day ("2018-13", "2018-02-31")
        raise BadRequest(f"{name} must be a date like 2018, 2018-12 or 2018-12-10, not {value!r}")
    return period.last if upper else period.first


@dataclass
class Service:
    """The answerer and its index, with one lock for writes; what the CLI, the API and the chat share."""

    answerer: Answerer
    index: HybridIndex
    chunking: Chunking = field(default_factory=Chunking)
    feedback: FeedbackStore | None = None  # None: the chat offers no 👍/👎 and /api/feedback refuses
    started: float = field(default_factory=time.time)
    _writing: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.answerer.line.watch(self._writing.locked)  # an ingestion is load: the model runs on one thread

    @property
    def backend(self) -> str:
        """Which back end writes answers: ``local``, ``openai`` or ``extractive``."""
        return self.answerer.backend

    def index_version(self) -> str:
        """The index's revision stamp (a new one on every change): which state of the index answered."""
        return self.index.dense.revision()

    def ask_stream(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Iterator[Event]:
        """The events of one answer (``qa/types.py``), ending with :class:`Final`."""
        where = filters.where() if filters else None
        yield from self.answerer.stream(question, list(history)[-MAX_HISTORY_TURNS:], where, k)

    def ask(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Answer:
        """The finished answer."""
        for event in self.ask_stream(question, history, filters, k):
            if isinstance(event, Final):
                return event.answer
        raise AssertionError("the answer stream ended without a Final event")

    def articles(self, limit: int = 100, offset: int = 0, search: str = "") -> dict[str, Any]:
        """Index statistics and one page of the stored articles, newest first.

        ``search``: only articles whose title, source or id contain it (letters folded as for
        retrieval: case, Arabic diacritics and letter variants); ``total`` counts the matches.
        """
        listing = self.index.articles()  # one pass over the index serves both
        listing.sort(key=lambda a: (a["date"], a["title"]), reverse=True)
        stats = self.index.stats(listing)
        if needle := normalize(search.strip()):
            listing = [a for a in listing if needle in normalize(f"{a['title']} {a['source']} {a['article_id']}")]
        return {"stats": stats, "total": len(listing), "offset": offset, "articles": listing[offset : offset + limit]}

    def article(self, article_id: str) -> dict[str, Any]:
        """One article's metadata and its passages in order; :class:`NotFound` when it is not indexed."""
        passages = self.index.dense.article(article_id)
        if not passages:
            raise NotFound(f"No article with the id {article_id!r} is indexed.")
        first = passages[0]
        return {
            "article_id": article_id,
            **{k: getattr(first, k) for k in ("title", "source", "url", "date", "lang")},
            "passages": [{"id": p.id, "start": p.start, "end": p.end, "text": p.text} for p in passages],
        }

    def delete_article(self, article_id: str) -> int:
        """Remove one article from the index; how many passages it had. :class:`NotFound` when it is not indexed."""
        with self._writing:
            removed = self.index.delete_article(article_id)
        if not removed:
            raise NotFound(f"No article with the id {article_id!r} is indexed.")
        return removed

    def ingest_files(
        self, files: Iterable[tuple[str, bytes]], source: str = "", progress: bool = False
    ) -> IngestReport:
        """Ingest uploaded files (name, content) with the same loaders as ``sanad ingest``."""
        with tempfile.TemporaryDirectory(prefix="sanad-upload-") as tmp:
            paths = []
            for name, data in files:
                safe = _SAFE_NAME.sub("_", Path(name or "upload.txt").name).strip(" .") or "upload.txt"
                path = Path(tmp) / safe
                n = 1
                while path.exists():
                    path = Path(tmp) / f"{path.stem}-{n}{path.suffix}"
                    n += 1
                path.write_bytes(data)
                paths.append(path)
            if not paths:
                raise BadRequest("no files were uploaded")
            report = self._ingest(load_paths(paths, source=source), progress)
        # say which upload was rejected, not where it was kept meanwhile
        report.rejected = [replace(r, origin=r.origin.replace(f"{tmp}/", "")) for r in report.rejected]
        return report

    def ingest_records(self, records: list[Any], source: str = "") -> IngestReport:
        """Ingest JSON records ``{"id","title","text","url","date","lang","source"}``."""
        if not records:
            raise BadRequest("no articles were given")
        items: list[Article | Rejection] = [
            article_from_record(r, f"articles[{i}]", f"api-{i}", source) for i, r in enumerate(records)
        ]
        return self._ingest(items)

    def _ingest(self, items: Iterable[Article | Rejection], progress: bool = False) -> IngestReport:
        with self._writing:  # one writer at a time; answering goes on meanwhile
            return ingest(items, self.index, self.chunking, progress=progress)

    def readiness(self) -> dict[str, Any]:
        """Whether the index and the embedding model answer, and which LLM back end is configured."""
        checks: dict[str, Any] = {"backend": self.backend}
        try:
            checks["passages"] = self.index.count()
            checks["index"] = "ok"
            if self.index.lexical is not None:
                checks["lexical_in_sync"] = self.index.lexical.count() == checks["passages"]
        except StoreError as e:
            checks["index"] = str(e)
        try:
            self.index.encoder.encode_queries(["ready?"])  # a real forward pass, every time
            checks["embedding_model"] = "ok"
        except Exception as e:  # noqa: BLE001 - reported, not raised: this is a health check
            checks["embedding_model"] = f"{type(e).__name__}: {e}"
        generator = self.answerer.generator
        if generator is not None and generator.server is not None:
            checks["llm"] = "ok" if generator.server.healthy() else "down (answers fall back to extractive)"
        checks["ready"] = checks["index"] == "ok" and checks["embedding_model"] == "ok"
        return checks


def report_dict(report: IngestReport) -> dict[str, Any]:
    """The JSON form of an ingestion report."""
    return {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "duplicates": report.duplicates,
        "rejected": [{"origin": r.origin, "reason": r.reason} for r in report.rejected],
        "passages_written": report.passages_written,
        "passages_deleted": report.passages_deleted,
        "sentences_written": report.sentences_written,
        "seconds": round(report.seconds, 2),
    }
