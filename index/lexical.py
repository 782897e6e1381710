"""The lexical leg: BM25 (bm25s) over Arabic-normalised passage text, kept in step with Chroma.

Tokens and the filterable metadata of every passage live in a SQLite file next to the Chroma
data, written by the same calls that write Chroma. The BM25 matrices are rebuilt in memory
from it on the first search after a change. ``revision`` records which state of the Chroma
collection the file mirrors, so a replica that missed a change (another process ingested, or
a crash between the two writes) knows to resynchronise.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.arabic import tokenize

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    id TEXT PRIMARY KEY, tokens TEXT NOT NULL, article_id TEXT, source TEXT, lang TEXT, date_int INTEGER
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
_FILTER_FIELDS = ("article_id", "source", "lang", "date_int")


@dataclass(frozen=True)
class LexicalRow:
    """What the lexical index keeps of one passage."""

    id: str
    text: str
    article_id: str = ""
    source: str = ""
    lang: str = ""
    date_int: int = 0


class LexicalIndex:
    """BM25 search over the passages, with the same metadata filters as Chroma."""

    def __init__(self, path: Path):
        """Open (or create) the lexical index file at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._model: Any = None  # bm25s.BM25, built lazily
        self._ids: list[str] = []
        self._columns: dict[str, np.ndarray] = {}

    @property
    def revision(self) -> str:
        """The Chroma collection revision this index mirrors ('' when unknown)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return row[0] if row else ""

    def set_revision(self, revision: str) -> None:
        """Record that the index now mirrors Chroma revision ``revision``."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('revision', ?)", (revision,))

    def count(self) -> int:
        """Number of passages indexed."""
        return int(self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def add(self, rows: Iterable[LexicalRow]) -> None:
        """Index passages (re-adding an id replaces it)."""
        values = [(r.id, " ".join(tokenize(r.text)), r.article_id, r.source, r.lang, r.date_int) for r in rows]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO passages VALUES (?, ?, ?, ?, ?, ?)", values)
            self._model = None

    def delete(self, ids: Sequence[str]) -> None:
        """Forget passages by id."""
        with self._lock:
            self._db.executemany("DELETE FROM passages WHERE id = ?", [(i,) for i in ids])
            self._model = None

    def replace_all(self, rows: Iterable[LexicalRow], revision: str) -> None:
        """Rebuild from scratch (used to resynchronise with Chroma)."""
        with self._lock:
            self._db.execute("DELETE FROM passages")
            self.add(rows)
            self.set_revision(revision)

    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The ``k`` best passage ids for ``query`` with their BM25 scores (only scores > 0)."""
        tokens = tokenize(query)
        with self._lock:
            model = self._built()
            if model is None or not tokens:
                return []
            ids = model.get_tokens_ids(tokens)
            if not ids:
                return []
            scores = model.get_scores_from_ids(ids)
            if where:
                scores = scores * _mask(self._columns, where)
            top = np.argsort(-scores)[:k]
            return [(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def _built(self) -> Any:
        if self._model is not None or self.count() == 0:
            return self._model
        import bm25s

        rows = self._db.execute("SELECT id, tokens, article_id, source, lang, date_int FROM passages ORDER BY id")
        ids: list[str] = []
        corpus: list[list[str]] = []
        columns: dict[str, list[Any]] = {f: [] for f in _FILTER_FIELDS}
        for pid, tokens, *meta in rows:
            ids.append(pid)
            corpus.append(tokens.split() or ["\x00"])  # bm25s needs a token per document
            for name, value in zip(_FILTER_FIELDS, meta):
                columns[name].append(value)
        model = bm25s.BM25()
        model.index(corpus, show_progress=False)
        self._ids = ids
        self._columns = {k: np.asarray(v) for k, v in columns.items()}
        self._model = model
        return model


def _mask(columns: dict[str, np.ndarray], where: dict[str, Any]) -> np.ndarray:
    """Evaluate a Chroma-style ``where`` filter ($and, $or, $eq, $ne, $in, $nin, $gt(e), $lt(e))."""
    n = len(next(iter(columns.values())))
    if "$and" in where:
        return np.logical_and.reduce([_mask(columns, w) for w in where["$and"]] + [np.ones(n, bool)])
    if "$or" in where:
        return np.logical_or.reduce([_mask(columns, w) for w in where["$or"]] + [np.zeros(n, bool)])
    mask = np.ones(n, bool)
    for field, cond in where.items():
        if field not in columns:
            raise ValueError(f"cannot filter on {field!r}; filterable fields: {', '.join(_FILTER_FIELDS)}")
        col = columns[field]
        ops = cond if isinstance(cond, dict) else {"$eq": cond}
        for op, value in ops.items():
            mask &= _compare(col, op, value)
    return mask


def _compare(col: np.ndarray, op: str, value: Any) -> np.ndarray:
    if op == "$eq":
        return col == value
    if op == "$ne":
        return col != value
    if op == "$in":
        return np.isin(col, list(value))
    if op == "$nin":
        return ~np.isin(col, list(value))
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return {"$gt": col > value, "$gte": col >= value, "$lt": col < value, "$lte": col <= value}[op]
    raise ValueError(f"unsupported filter operator {op!r}")
