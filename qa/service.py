"""The running service: one answerer and one index shared by the chat UI and the HTTP API.

Everything the web front ends need beyond answering lives here, so ``app.py`` and
``qa/api.py`` only translate: question filters into index filters, uploads into ingestion
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

from index.ingest import ingest
from index.loaders import article_from_record, load_paths
from index.store import PassageStore, StoreError
from index.types import Article, IngestReport, Rejection, date_to_int
from qa.answer import Answerer, Turn
from qa.types import Answer, Token

MAX_HISTORY_TURNS = 20
_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


class BadRequest(ValueError):
    """Input the service refuses, with a message meant for the person who sent it."""


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
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _date_bound(value: str, name: str, upper: bool = False) -> int:
    number = date_to_int(value)
    if not number or not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
        raise BadRequest(f"{name} must be a date like 2018, 2018-12 or 2018-12-10, not {value!r}")
    if upper:  # "2018-12" ends on the last day of December
        year, month, day = number // 10000, number // 100 % 100, number % 100
        number = year * 10000 + (month or 12) * 100 + (day or 99)
    return number


@dataclass
class Service:
    """The answerer, its index and the ingestion settings, behind one lock for writes."""

    answerer: Answerer
    ingest_options: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    _writing: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def store(self) -> PassageStore:
        """The passage index."""
        return self.answerer.retriever.store

    @property
    def backend(self) -> str:
        """Which back end writes answers: ``local``, ``openai`` or ``extractive``."""
        return self.answerer.generator.backend if self.answerer.generator else "extractive"

    def ask_stream(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Iterator[Token | Answer]:
        """Tokens of the answer, then the :class:`Answer` (see ``Answerer.answer_stream``)."""
        history = list(history)[-MAX_HISTORY_TURNS:]
        where = filters.where() if filters else None
        answerer = self.answerer if k is None else self.answerer.with_k(k)
        yield from answerer.answer_stream(question, history, where)

    def ask(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Answer:
        """The finished answer."""
        for item in self.ask_stream(question, history, filters, k):
            if isinstance(item, Answer):
                return item
        raise AssertionError("ask_stream ended without an answer")

    def articles(self, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """Index statistics and one page of the stored articles, newest first."""
        listing = self.store.articles()  # one pass over the index serves both
        stats = self.store.stats(listing)
        stats.pop("location")  # where the index lives on the server is not the web's business
        listing.sort(key=lambda a: (a["date"], a["title"]), reverse=True)
        return {
            "stats": stats,
            "total": len(listing),
            "offset": offset,
            "articles": listing[offset : offset + limit],
        }

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
            return ingest(items, self.store, progress=progress, **self.ingest_options)

    def readiness(self) -> dict[str, Any]:
        """Whether the index and the embedding model answer, and which LLM back end is configured."""
        checks: dict[str, Any] = {"backend": self.backend}
        try:
            checks["passages"] = self.store.count()
            checks["index"] = "ok"
            if self.store.lexical is not None:
                checks["lexical_in_sync"] = self.store.lexical.count() == checks["passages"]
        except StoreError as e:
            checks["index"] = str(e)
        try:
            self.store.embeddings.encode_queries(["ready?"])
            checks["embedding_model"] = "ok"
        except Exception as e:  # noqa: BLE001 - reported, not raised: this is a health check
            checks["embedding_model"] = f"{type(e).__name__}: {e}"
        server = self.answerer.generator.server if self.answerer.generator else None
        if server is not None:
            checks["llm"] = "ok" if server.healthy() else "down (answers fall back to extractive)"
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
        "seconds": round(report.seconds, 2),
    }
