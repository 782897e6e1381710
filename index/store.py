"""The dense store: passages, their vectors and metadata in one Chroma collection (embedded or a server).

Beside it, a second collection (``<name>.sentences``) holds the vectors of every passage's
sentences, written at ingestion: re-ranking reads a candidate's best sentence, and reading
stored vectors takes milliseconds where embedding 30-50 candidates' sentences takes seconds.
Both collections record which embedding model built them and refuse another one. Searching goes
through LangChain's Chroma wrapper; records come back typed (:class:`PassageRecord`). Keeping
the BM25 mirror in step is not this module's business (``index/hybrid.py``).

The only module that imports ``chromadb``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError
from langchain_chroma import Chroma

from index.embeddings import Encoder, fingerprint_similarity
from index.errors import ModelMismatch, StoreUnavailable
from index.types import Passage, PassageRecord

_FINGERPRINT_MIN_SIMILARITY = 0.98  # same model on another backend (bf16, int8) stays above this
_PAGE = 2000  # rows per get() page; keeps memory flat on large collections
_IN_LIMIT = 200  # values per $in filter


@dataclass(frozen=True)
class ChromaServer:
    """Where a ``chroma run`` server (or the proxy in front of it) listens."""

    host: str
    port: int = 8000
    token: str = ""  # sent as Authorization: Bearer
    ssl: bool = False


@dataclass(frozen=True)
class StoredArticle:
    """What the store holds of one article."""

    content_hash: str
    passage_ids: frozenset[str]


def open_client(path: Path | None = None, server: ChromaServer | None = None) -> Any:
    """A Chroma client: ``HttpClient`` for ``server``, else ``PersistentClient(path)``."""
    settings = ChromaSettings(anonymized_telemetry=False)
    if server is not None:
        headers = {"Authorization": f"Bearer {server.token}"} if server.token else None
        _check_access(server, headers)
        try:
            return chromadb.HttpClient(
                host=server.host, port=server.port, ssl=server.ssl, headers=headers, settings=settings
            )
        except Exception as e:  # chromadb raises ValueError, ConnectError, ... depending on version
            raise StoreUnavailable(
                f"Cannot reach the Chroma server at {server.host}:{server.port} ({e}). Start it with "
                f"'chroma run --path DIR --port {server.port}' or unset SANAD_CHROMA_HOST to use the embedded store."
            ) from e
    if path is None:
        raise TypeError("open_client needs a path or a server")
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def _check_access(server: ChromaServer, headers: dict[str, str] | None) -> None:
    """Say plainly when a proxy in front of Chroma refuses us (chromadb raises an empty ValueError)."""
    import httpx

    url = f"{'https' if server.ssl else 'http'}://{server.host}:{server.port}/api/v2/heartbeat"
    try:
        status = httpx.get(url, headers=headers, timeout=10).status_code
    except httpx.HTTPError:
        return  # unreachable: HttpClient says so below
    if status in (401, 403):
        given = "refused the token in SANAD_CHROMA_TOKEN" if headers else "wants a token: set SANAD_CHROMA_TOKEN"
        raise StoreUnavailable(f"The Chroma server at {server.host}:{server.port} {given} (HTTP {status}).")


class DenseStore:
    """Passages with their vectors and metadata in one Chroma collection."""

    def __init__(self, client: Any, name: str, encoder: Encoder, location: str = ""):
        """Open (or create) collection ``name``, refusing one built by another embedding model."""
        self.location = location or f"Chroma, collection {name!r}"
        self._client, self._name = client, name
        self._collection = _open_collection(client, name, encoder, self.location)
        self.sentences = SentenceVectors(_open_collection(client, f"{name}.sentences", encoder, self.location))
        self._langchain = Chroma(
            client=client, collection_name=name, embedding_function=encoder, create_collection_if_not_exists=False
        )

    @property
    def model_name(self) -> str:
        """Embedding model recorded in the collection."""
        return str((self._collection.metadata or {}).get("embedding_model", ""))

    def count(self) -> int:
        """Number of passages stored."""
        return int(_call(self._collection.count))

    def upsert(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        """Write passages with their precomputed vectors (same id twice is a no-op)."""
        if passages:
            _call(
                self._collection.upsert,
                ids=[p.id for p in passages],
                embeddings=vectors,
                documents=[p.text for p in passages],
                metadatas=[p.metadata() for p in passages],
            )

    def delete(self, passage_ids: Sequence[str]) -> None:
        """Remove passages by id, and their sentences' vectors.

        The sentences first: a crash in between leaves a passage without them (embedded when
        read, stored again by the next ingestion), never vectors that no passage names.
        """
        ids = list(passage_ids)
        self.sentences.delete(ids)
        for i in range(0, len(ids), _PAGE):
            _call(self._collection.delete, ids=ids[i : i + _PAGE])

    def search(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[PassageRecord, float]]:
        """The ``k`` nearest passages to ``vector`` with their cosine similarity, best first."""
        results = _call(
            self._langchain.similarity_search_by_vector_with_relevance_scores, vector.tolist(), k=k, filter=where
        )
        return [
            (PassageRecord.from_metadata(str(doc.id), doc.page_content, dict(doc.metadata)), 1.0 - distance)
            for doc, distance in results
        ]

    def get(self, passage_ids: Sequence[str]) -> dict[str, tuple[PassageRecord, np.ndarray]]:
        """The given passages that exist, with their vectors, by id."""
        if not passage_ids:
            return {}
        page = _call(self._collection.get, ids=list(passage_ids), include=["documents", "metadatas", "embeddings"])
        vectors = page["embeddings"] if page["embeddings"] is not None else [None] * len(page["ids"])
        return {
            pid: (PassageRecord.from_metadata(pid, text or "", dict(meta or {})), np.asarray(vector, np.float32))
            for pid, text, meta, vector in zip(page["ids"], page["documents"] or [], page["metadatas"] or [], vectors)
        }

    def rows(self, documents: bool = True) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every passage as (id, text, metadata), page by page (text is "" without ``documents``)."""
        include = ["documents", "metadatas"] if documents else ["metadatas"]
        offset = 0
        while True:
            page = _call(self._collection.get, include=include, limit=_PAGE, offset=offset)
            texts = page.get("documents") or [""] * len(page["ids"])
            for pid, text, meta in zip(page["ids"], texts, page["metadatas"] or []):
                yield pid, text or "", dict(meta or {})
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def article(self, article_id: str) -> list[PassageRecord]:
        """The passages of one article, in the order of the text."""
        page = _call(self._collection.get, where={"article_id": article_id}, include=["documents", "metadatas"])
        records = [
            PassageRecord.from_metadata(pid, text or "", dict(meta or {}))
            for pid, text, meta in zip(page["ids"], page["documents"] or [], page["metadatas"] or [])
        ]
        return sorted(records, key=lambda r: r.start)

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

    def revision(self) -> str:
        """The revision stamp writers set on the collection (read fresh from Chroma)."""
        meta = _call(self._client.get_collection, self._name).metadata or {}
        return str(meta.get("revision", ""))

    def set_revision(self, revision: str) -> None:
        """Stamp the collection with a new revision."""
        meta = dict(_call(self._client.get_collection, self._name).metadata or {})
        _call(self._collection.modify, metadata={**meta, "revision": revision})

    def _get_where(self, key: str, values: Sequence[str]) -> Iterator[tuple[list[str], list[dict[str, Any]]]]:
        unique = list(dict.fromkeys(values))
        for i in range(0, len(unique), _IN_LIMIT):
            chunk = unique[i : i + _IN_LIMIT]
            page = _call(self._collection.get, where={key: {"$in": chunk}}, include=["metadatas"])
            yield page["ids"], [dict(m or {}) for m in page["metadatas"] or []]


class SentenceVectors:
    """The vectors of passages' sentences by :func:`index.types.sentence_id`, in their own collection."""

    def __init__(self, collection: Any):
        """Wrap an opened collection (:class:`DenseStore` opens it beside its passages)."""
        self._collection = collection

    def write(self, ids: Sequence[str], passage_ids: Sequence[str], vectors: np.ndarray) -> None:
        """Store the vectors of sentences ``ids``, each tagged with the passage it was read from.

        A passage's sentences go in one call (pages end between passages): a crash leaves a
        passage with all of them or none, and :meth:`passages_held` counts only whole ones.
        """
        start = 0
        while start < len(ids):
            end = min(start + _PAGE, len(ids))
            while end < len(ids) and passage_ids[end] == passage_ids[end - 1]:
                end += 1
            _call(
                self._collection.upsert,
                ids=list(ids[start:end]),
                embeddings=vectors[start:end],
                metadatas=[{"passage_id": pid} for pid in passage_ids[start:end]],
            )
            start = end

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors among ``ids``, by id (missing ones are left out)."""
        if not ids:
            return {}
        page = _call(self._collection.get, ids=list(ids), include=["embeddings"])
        vectors = page["embeddings"] if page["embeddings"] is not None else []
        return {sid: np.asarray(v, np.float32) for sid, v in zip(page["ids"], vectors)}

    def passages_held(self, passage_ids: Sequence[str]) -> set[str]:
        """Which of ``passage_ids`` have their sentences stored."""
        held: set[str] = set()
        unique = list(dict.fromkeys(passage_ids))
        for i in range(0, len(unique), _IN_LIMIT):
            page = _call(
                self._collection.get, where={"passage_id": {"$in": unique[i : i + _IN_LIMIT]}}, include=["metadatas"]
            )
            held.update(str((meta or {}).get("passage_id", "")) for meta in page["metadatas"] or [])
        return held

    def delete(self, passage_ids: Sequence[str]) -> None:
        """Remove the sentences of ``passage_ids``."""
        unique = list(dict.fromkeys(passage_ids))
        for i in range(0, len(unique), _IN_LIMIT):
            _call(self._collection.delete, where={"passage_id": {"$in": unique[i : i + _IN_LIMIT]}})

    def count(self) -> int:
        """Number of sentence vectors stored."""
        return int(_call(self._collection.count))


def _open_collection(client: Any, name: str, encoder: Encoder, location: str) -> Any:
    """Collection ``name``, created for ``encoder``'s vectors when missing; another model's is refused."""
    fingerprint = encoder.fingerprint()
    try:
        collection = _call(client.get_collection, name)
        _check_model(collection.metadata or {}, encoder, fingerprint, location)
        return collection
    except NotFoundError:
        return _call(
            client.create_collection,
            name,
            metadata={
                "embedding_model": encoder.name,
                "embedding_dim": encoder.dimension,
                "embedding_fingerprint": json.dumps(fingerprint),
            },
            configuration={"hnsw": {"space": "cosine"}},
        )


def _check_model(meta: dict[str, Any], encoder: Encoder, fingerprint: list[float], location: str) -> None:
    built_with = meta.get("embedding_model", "an unknown model")
    dim = meta.get("embedding_dim")
    stored = json.loads(meta.get("embedding_fingerprint", "[]"))
    if dim != encoder.dimension or fingerprint_similarity(stored, fingerprint) < _FINGERPRINT_MIN_SIMILARITY:
        raise ModelMismatch(
            f"The index in {location} was built with the embedding model {built_with!r} ({dim} dimensions), "
            f"but the configured model is {encoder.name!r} ({encoder.dimension} dimensions), whose "
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
