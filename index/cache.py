"""Vector caches: on disk by model fingerprint and exact input, and the recent sentences in memory.

Re-indexing the same text (a new collection, an evaluation index, a benchmark rerun) then costs
a lookup instead of a forward pass. Off by default for ``sanad ingest``; evaluation and
benchmarks use it. :class:`RecentVectors` keeps the evidence sentences of the last questions: a
question's candidates are embedded sentence by sentence, and a follow-up or another question on
the same topic reads mostly the same passages.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np


class EmbeddingCache:
    """Vectors by (model, prompt, text) in one SQLite file."""

    def __init__(self, path: Path, model_key: str):
        """Open the cache file at ``path`` for the model identified by ``model_key``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
        self._model_key = model_key
        self._lock = threading.Lock()

    def _key(self, prompt: str, text: str) -> bytes:
        return hashlib.sha256(f"{self._model_key}\x1f{prompt}\x1f{text}".encode()).digest()[:20]

    def get(self, prompt: str, texts: list[str]) -> list[np.ndarray | None]:
        """Cached vectors for ``texts`` (None where missing)."""
        keys = [self._key(prompt, t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                    found[key] = np.frombuffer(blob, np.float32)
        return [found.get(k) for k in keys]

    def put(self, prompt: str, texts: list[str], vectors: np.ndarray) -> None:
        """Store vectors for ``texts``."""
        rows = [(self._key(prompt, t), np.asarray(v, np.float32).tobytes()) for t, v in zip(texts, vectors)]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)


class RecentVectors:
    """The vectors of the ``size`` texts used most recently, in memory (the least recent leave first)."""

    def __init__(self, size: int):
        """Keep at most ``size`` vectors."""
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, texts: list[str]) -> list[np.ndarray | None]:
        """The kept vector of each text (None where there is none); those found become the most recent."""
        with self._lock:
            found = [self._vectors.get(t) for t in texts]
            for t, v in zip(texts, found):
                if v is not None:
                    self._vectors.move_to_end(t)
        return found

    def put(self, texts: list[str], vectors: np.ndarray) -> None:
        """Keep ``vectors`` for ``texts``, forgetting the least recent beyond ``size``."""
        with self._lock:
            for t, v in zip(texts, vectors):
                self._vectors[t] = v
                self._vectors.move_to_end(t)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        """Forget every vector."""
        with self._lock:
            self._vectors.clear()
