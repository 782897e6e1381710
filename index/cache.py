"""A persistent cache of passage vectors, keyed by model fingerprint and exact embedding input.

Re-indexing the same text (a new collection, an evaluation index, a benchmark rerun) then costs
a lookup instead of a forward pass. Off by default for ``sanad ingest``; evaluation and
benchmarks use it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
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
