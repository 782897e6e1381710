"""The lexical leg: BM25 (bm25s) over Arabic-normalised passage text, kept in step with Chroma.

Tokens and the filterable metadata of every passage live in a SQLite file next to the Chroma
data, written by the same calls that write Chroma. The in-memory BM25 (index/bm25.py) is built
from it on the first search and then follows every write by appending, so a question asked
during an ingestion does not wait for a rebuild of the whole index. ``revision`` records which state of the Chroma
collection the file mirrors, so a replica that missed a change (another process ingested, or
a crash between the two writes) knows to resynchronise.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.arabic import tokenize
from index.bm25 import IncrementalBM25
from index.translit import token_keys

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
        self._model: IncrementalBM25 | None = None  # built lazily from the file, then kept current
        self._ids: list[str] = []  # row -> passage id (rows of removed passages stay, masked)
        self._rows: dict[str, int] = {}  # passage id -> its live row
        self._columns: dict[str, np.ndarray] = {}
        self._languages: Counter[str] = Counter()  # live passages per language, kept with the in-memory index
        self._names: IncrementalBM25 | None = None  # the names leg: built on its first search, same rows

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
            if self._model is not None:
                self._append(values)

    def delete(self, ids: Sequence[str]) -> None:
        """Forget passages by id."""
        with self._lock:
            self._db.executemany("DELETE FROM passages WHERE id = ?", [(i,) for i in ids])
            if self._model is not None:
                self._forget(ids)
                self._compact_if_needed()

    def replace_all(self, rows: Iterable[LexicalRow], revision: str) -> None:
        """Rebuild from scratch (used to resynchronise with Chroma)."""
        with self._lock:
            self._db.execute("DELETE FROM passages")
            self._model = self._names = None
            self.add(rows)
            self.set_revision(revision)

    def warm(self) -> None:
        """Build the in-memory BM25 now (else the first search builds it)."""
        with self._lock:
            self._built()

    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The ``k`` best passage ids for ``query`` with their BM25 scores (only scores > 0)."""
        tokens = tokenize(query)
        with self._lock:
            model = self._built()
            if model is None or not tokens:
                return []
            scores = model.scores(tokens)
            if where:
                scores = scores * _mask(self._columns, where)
            top = np.argsort(-scores)[:k]
            return [(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def search_names(self, keys: Iterable[str], k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The ``k`` best passage ids for a question's name keys, BM25 over the passages' ``token_keys``.

        ``keys`` come from ``index.translit.name_keys``; only scores > 0 are returned. Built on the
        first call (a collection asked only in its own script never pays for it), then kept in step
        with every write like the BM25 model.
        """
        keys = sorted(set(keys))
        with self._lock:
            model = self._built()
            if model is None or not keys:
                return []
            if self._names is None:
                self._names = self._names_model()
            scores = self._names.scores(keys)
            if where:
                scores = scores * _mask(self._columns, where)
            top = np.argsort(-scores)[:k]
            return [(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def _names_model(self) -> IncrementalBM25:
        """The names leg over the rows the BM25 model holds, in its row order (removed rows removed)."""
        assert self._model is not None
        docs: list[list[str]] = [["\x00"]] * self._model.rows
        for pid, tokens in self._db.execute("SELECT id, tokens FROM passages"):
            if (row := self._rows.get(pid)) is not None:
                docs[row] = token_keys(tokens.split()) or ["\x00"]
        names = IncrementalBM25()
        names.add(docs)
        live = set(self._rows.values())
        names.remove([row for row in range(len(docs)) if row not in live])
        return names

    def languages(self) -> Counter[str]:
        """How many passages each language has (the articles' language codes; '' when unknown)."""
        with self._lock:
            if self._built() is None:
                return Counter()
            return +self._languages  # a copy, without languages whose passages are all gone

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """How rare each (normalised) token is among the passages: BM25's inverse document frequency."""
        with self._lock:
            model = self._built()
            return {t: model.idf(t) if model is not None else 0.0 for t in tokens}

    def _built(self) -> IncrementalBM25 | None:
        if self._model is not None or self.count() == 0:
            return self._model
        rows = self._db.execute("SELECT id, tokens, article_id, source, lang, date_int FROM passages ORDER BY id")
        self._model, self._ids, self._rows, self._languages = IncrementalBM25(), [], {}, Counter()
        self._names = None
        self._columns = {f: np.zeros(0, object if f != "date_int" else np.int64) for f in _FILTER_FIELDS}
        self._append(list(rows))
        return self._model

    def _append(self, values: list[tuple[Any, ...]]) -> None:
        """Add rows (id, tokens, *filter fields) to the in-memory index; an id already there is replaced."""
        assert self._model is not None
        first = self._model.rows
        self._model.add([tokens.split() or ["\x00"] for _, tokens, *_ in values])  # a token per document
        if self._names is not None:
            self._names.add([token_keys(tokens.split()) or ["\x00"] for _, tokens, *_ in values])
        self._ids.extend(v[0] for v in values)
        for k, name in enumerate(_FILTER_FIELDS, start=2):
            column = [v[k] if v[k] is not None or name != "date_int" else 0 for v in values]
            added = np.asarray(column, dtype=self._columns[name].dtype)
            self._columns[name] = np.concatenate([self._columns[name], added])
        self._languages.update(str(v[4] or "") for v in values)
        for n, (pid, *_) in enumerate(values):  # columns first: forgetting reads the language of the row it drops
            self._forget([pid])  # its earlier row, indexed before or earlier in this batch
            self._rows[pid] = first + n
        self._compact_if_needed()

    def _forget(self, ids: Sequence[str]) -> None:
        assert self._model is not None
        rows = [self._rows.pop(i) for i in ids if i in self._rows]
        if rows:
            self._languages.subtract(str(self._columns["lang"][r] or "") for r in rows)
            self._model.remove(rows)
            if self._names is not None:
                self._names.remove(rows)

    def _compact_if_needed(self) -> None:
        # removed rows still cost memory and time: past a quarter of the rows, rebuild on the next search
        if self._model is not None and self._model.removed * 4 > max(self._model.rows, 1000):
            self._model = self._names = None


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
