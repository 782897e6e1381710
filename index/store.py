"""The passage store: one Chroma collection, embedded or on a ``chroma run`` server.

The collection records which embedding model built it; the store wraps it for LangChain
retrieval and for idempotent ingestion.

The only module that imports ``chromadb``.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError
from langchain_chroma import Chroma

from index.embeddings import PassageEmbeddings, fingerprint_similarity
from index.lexical import LexicalIndex, LexicalRow
from index.types import Passage

_FINGERPRINT_MIN_SIMILARITY = 0.98  # same model on another backend (bf16, int8) stays above this
_PAGE = 2000  # rows per get() page; keeps memory flat on large collections
_IN_LIMIT = 200  # values per $in filter


class StoreError(RuntimeError):
    """Base class for store problems; messages are for the user."""


class StoreUnavailable(StoreError):
    """The Chroma server cannot be reached."""


class ModelMismatch(StoreError):
    """The collection was built with another embedding model: its vectors would be garbage."""


@dataclass(frozen=True)
class StoredArticle:
    """What the store holds of one article."""

    content_hash: str
    passage_ids: frozenset[str]


def open_client(
    path: Path | None = None, host: str | None = None, port: int = 8000, token: str = "", ssl: bool = False
) -> Any:
    """A Chroma client: ``HttpClient`` when ``host`` is given, else ``PersistentClient(path)``.

    ``token`` is sent as ``Authorization: Bearer`` (for a Chroma server behind an authenticating
    proxy); ``ssl`` talks https.
    """
    settings = ChromaSettings(anonymized_telemetry=False)
    if host:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        _check_access(host, port, ssl, headers)
        try:
            return chromadb.HttpClient(host=host, port=port, ssl=ssl, headers=headers, settings=settings)
        except Exception as e:  # chromadb raises ValueError, ConnectError, ... depending on version
            raise StoreUnavailable(
                f"Cannot reach the Chroma server at {host}:{port} ({e}). Start it with "
                f"'chroma run --path DIR --port {port}' or unset SANAD_CHROMA_HOST to use the embedded store."
            ) from e
    if path is None:
        raise ValueError("either path or host is required")
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def _check_access(host: str, port: int, ssl: bool, headers: dict[str, str] | None) -> None:
    """Say plainly when a proxy in front of Chroma refuses us (chromadb raises an empty ValueError)."""
    import httpx

    url = f"{'https' if ssl else 'http'}://{host}:{port}/api/v2/heartbeat"
    try:
        status = httpx.get(url, headers=headers, timeout=10).status_code
    except httpx.HTTPError:
        return  # unreachable: HttpClient says so below
    if status in (401, 403):
        given = "refused the token in SANAD_CHROMA_TOKEN" if headers else "wants a token: set SANAD_CHROMA_TOKEN"
        raise StoreUnavailable(f"The Chroma server at {host}:{port} {given} (HTTP {status}).")


class PassageStore:
    """Passages with their vectors and metadata in one Chroma collection, mirrored by a lexical index."""

    def __init__(
        self,
        client: Any,
        name: str,
        embeddings: PassageEmbeddings,
        where: str = "",
        lexical: LexicalIndex | None = None,
    ):
        """Open (or create) collection ``name``, refusing one built by another embedding model.

        ``lexical``, when given, receives every write and delete, and is rebuilt from Chroma by
        :meth:`sync_lexical` when it missed a change.
        """
        self.embeddings = embeddings
        self.where = where or "Chroma"
        self.lexical = lexical
        self._own_change = ""
        self._client, self._name = client, name
        fingerprint = embeddings.fingerprint()
        try:
            collection = _call(client.get_collection, name)
            _check_model(collection.metadata or {}, embeddings, fingerprint, self.where)
        except NotFoundError:
            collection = _call(
                client.create_collection,
                name,
                metadata={
                    "embedding_model": embeddings.name,
                    "embedding_dim": embeddings.dimension,
                    "embedding_fingerprint": json.dumps(fingerprint),
                },
                configuration={"hnsw": {"space": "cosine"}},
            )
        self._collection = collection
        self.vectorstore = Chroma(
            client=client,
            collection_name=name,
            embedding_function=embeddings,
            create_collection_if_not_exists=False,
        )

    @property
    def model_name(self) -> str:
        """Embedding model recorded in the collection."""
        return str((self._collection.metadata or {}).get("embedding_model", ""))

    def count(self) -> int:
        """Number of passages stored."""
        return int(_call(self._collection.count))

    def stored_articles(self, article_ids: Sequence[str]) -> dict[str, StoredArticle]:
        """Content hash and passage ids of each of ``article_ids`` that the store holds."""
        found: dict[str, tuple[set[str], set[str]]] = {}
        for ids, metas in self._get_where("article_id", article_ids):
            for pid, meta in zip(ids, metas):
                hashes, pids = found.setdefault(str(meta["article_id"]), (set(), set()))
                hashes.add(str(meta.get("content_hash", "")))
                pids.add(pid)
        # Passages from two versions of an article (a crash mid-update) read as "changed".
        return {
            aid: StoredArticle(next(iter(hashes)) if len(hashes) == 1 else "", frozenset(pids))
            for aid, (hashes, pids) in found.items()
        }

    def articles_with_text(self, text_hashes: Sequence[str]) -> dict[str, str]:
        """Map each of ``text_hashes`` that is stored to the id of the article holding it."""
        found: dict[str, str] = {}
        for _, metas in self._get_where("text_hash", text_hashes):
            for meta in metas:
                found.setdefault(str(meta["text_hash"]), str(meta["article_id"]))
        return found

    def upsert(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        """Write passages with their precomputed vectors (same id twice is a no-op)."""
        if not passages:
            return
        metadatas = [p.metadata() for p in passages]
        _call(
            self._collection.upsert,
            ids=[p.id for p in passages],
            embeddings=vectors,
            documents=[p.text for p in passages],
            metadatas=metadatas,
        )
        if self.lexical is not None:
            self.lexical.add(_lexical_row(p.id, p.text, m) for p, m in zip(passages, metadatas))

    def delete(self, passage_ids: Sequence[str]) -> None:
        """Remove passages by id."""
        ids = list(passage_ids)
        for i in range(0, len(ids), _PAGE):
            _call(self._collection.delete, ids=ids[i : i + _PAGE])
        if self.lexical is not None:
            self.lexical.delete(ids)

    def revision(self) -> str:
        """Changes whenever a writer starts changing the collection (read fresh from Chroma)."""
        meta = _call(self._client.get_collection, self._name).metadata or {}
        return str(meta.get("revision", ""))

    def begin_change(self) -> str:
        """Announce a change: a new revision, stored before any write so readers notice a crash."""
        revision = uuid.uuid4().hex
        self._own_change = revision  # our own writes in progress: the lexical index follows them
        meta = dict(_call(self._client.get_collection, self._name).metadata or {})
        _call(self._collection.modify, metadata={**meta, "revision": revision})
        return revision

    def end_change(self, revision: str) -> None:
        """Record that this store's lexical index has every write of ``revision``."""
        if self.lexical is not None:
            self.lexical.set_revision(revision)
        self._own_change = ""

    def abandon_change(self) -> None:
        """A change failed midway: let the next :meth:`sync_lexical` check (and rebuild) as usual."""
        self._own_change = ""

    def sync_lexical(self) -> bool:
        """Rebuild the lexical index from Chroma if it is behind; True when it was rebuilt."""
        if self.lexical is None:
            return False
        revision = self.revision()
        if revision == self._own_change:
            return False  # an ingestion of this process is writing to both; it stamps the revision at the end
        if self.lexical.revision == revision and self.lexical.count() == self.count():
            return False
        self.lexical.replace_all(self._iter_rows(), revision)
        return True

    def _iter_rows(self) -> Iterator[LexicalRow]:
        offset = 0
        while True:
            page = _call(self._collection.get, include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            for pid, text, meta in zip(page["ids"], page["documents"] or [], page["metadatas"] or []):
                yield _lexical_row(pid, text or "", dict(meta or {}))
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def delete_articles(self, article_ids: Sequence[str]) -> int:
        """Remove every passage of the given articles; returns how many passages went."""
        ids = [pid for pids, _ in self._get_where("article_id", article_ids) for pid in pids]
        self.delete(ids)
        return len(ids)

    def get_passages(self, passage_ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of the given passages that exist, by id."""
        if not passage_ids:
            return {}
        page = _call(self._collection.get, ids=list(passage_ids), include=["documents", "metadatas"])
        return {
            pid: (text or "", dict(meta or {}))
            for pid, text, meta in zip(page["ids"], page["documents"] or [], page["metadatas"] or [])
        }

    def dense_search(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, str, dict[str, Any], float]]:
        """The ``k`` nearest passages to ``vector``: (id, text, metadata, cosine similarity), best first."""
        results = _call(
            self.vectorstore.similarity_search_by_vector_with_relevance_scores, vector.tolist(), k=k, filter=where
        )
        return [(str(doc.id), doc.page_content, dict(doc.metadata), 1.0 - dist) for doc, dist in results]

    def iter_metadata(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every passage id with its metadata, page by page."""
        offset = 0
        while True:
            page = _call(self._collection.get, include=["metadatas"], limit=_PAGE, offset=offset)
            for pid, meta in zip(page["ids"], page["metadatas"] or []):
                yield pid, dict(meta or {})
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def articles(self) -> list[dict[str, Any]]:
        """One entry per stored article: its metadata and how many passages it has."""
        found: dict[str, dict[str, Any]] = {}
        for _, meta in self.iter_metadata():
            aid = str(meta.get("article_id", ""))
            if aid not in found:
                found[aid] = {"article_id": aid, "passages": 0}
                found[aid].update({k: str(meta.get(k, "")) for k in ("title", "source", "url", "date", "lang")})
            found[aid]["passages"] += 1
        return list(found.values())

    def stats(self, articles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Articles, passages, languages and sources in the store (from ``articles()``, read if not given)."""
        listing = self.articles() if articles is None else articles
        return {
            "articles": len(listing),
            "passages": sum(a["passages"] for a in listing),
            "languages": dict(Counter(a["lang"] or "?" for a in listing).most_common()),
            "sources": dict(Counter(a["source"] for a in listing).most_common()),
            "embedding_model": self.model_name,
            "embedding_dim": self.embeddings.dimension,
            "location": self.where,
        }

    def _get_where(self, key: str, values: Sequence[str]) -> Iterator[tuple[list[str], list[dict[str, Any]]]]:
        unique = list(dict.fromkeys(values))
        for i in range(0, len(unique), _IN_LIMIT):
            chunk = unique[i : i + _IN_LIMIT]
            page = _call(self._collection.get, where={key: {"$in": chunk}}, include=["metadatas"])
            yield page["ids"], [dict(m or {}) for m in page["metadatas"] or []]


def _lexical_row(pid: str, text: str, meta: dict[str, Any]) -> LexicalRow:
    return LexicalRow(
        id=pid,
        text=f"{meta.get('title', '')}\n{text}",
        article_id=str(meta.get("article_id", "")),
        source=str(meta.get("source", "")),
        lang=str(meta.get("lang", "")),
        date_int=int(meta.get("date_int", 0) or 0),
    )


def _check_model(meta: dict[str, Any], embeddings: PassageEmbeddings, fingerprint: list[float], where: str) -> None:
    built_with = meta.get("embedding_model", "an unknown model")
    dim = meta.get("embedding_dim")
    stored = json.loads(meta.get("embedding_fingerprint", "[]"))
    if dim != embeddings.dimension or fingerprint_similarity(stored, fingerprint) < _FINGERPRINT_MIN_SIMILARITY:
        raise ModelMismatch(
            f"The index in {where} was built with the embedding model {built_with!r} ({dim} dimensions), "
            f"but the configured model is {embeddings.name!r} ({embeddings.dimension} dimensions), whose "
            "vectors are not comparable. Set SANAD_EMBEDDING_MODEL back to the model that built it, or "
            "use another SANAD_COLLECTION or SANAD_DATA_DIR for the new model and ingest again."
        )


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a Chroma call, turning connection failures into :class:`StoreUnavailable`."""
    try:
        return fn(*args, **kwargs)
    except (NotFoundError, ValueError, TypeError):
        raise
    except Exception as e:
        if _is_connection_error(e):
            raise StoreUnavailable(f"The Chroma server stopped answering ({e}).") from e
        raise


def _is_connection_error(e: BaseException) -> bool:
    names = {type(x).__name__ for x in (e, e.__cause__, e.__context__) if x is not None}
    return bool(names & {"ConnectError", "ConnectionError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError"})
