"""BM25 that grows by appending: the lexical index is not rebuilt after every write.

Scores are bm25s's default ("lucene" variant: idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
term part tf / (k1 (1 - b + b |d| / avgdl) + tf), k1 = 1.5, b = 0.75), computed at query time
from term counts, so N, df and avgdl are always those of the live documents. Documents live in
segments (sparse doc × term count matrices); a write appends a segment, equal-sized neighbours
are merged (as in a binary counter, so there are O(log n) segments), and removed documents are
masked until the caller rebuilds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

K1, B = 1.5, 0.75


class IncrementalBM25:
    """Append-only BM25 over token lists; rows are numbered in the order they were added."""

    def __init__(self) -> None:
        """An empty index."""
        self.vocab: dict[str, int] = {}
        self._segments: list[sparse.csc_matrix] = []
        self._lengths = np.zeros(0, np.float64)
        self._alive = np.zeros(0, bool)

    @property
    def rows(self) -> int:
        """Rows ever added (live or removed)."""
        return len(self._alive)

    @property
    def removed(self) -> int:
        """Rows removed since the last rebuild."""
        return int((~self._alive).sum())

    @property
    def segments(self) -> int:
        """How many segments the documents are in."""
        return len(self._segments)

    def add(self, docs: Sequence[Sequence[str]]) -> None:
        """Append documents (token lists) as rows ``rows .. rows + len(docs) - 1``."""
        if not docs:
            return
        cols, row_ids = [], []
        for r, tokens in enumerate(docs):
            for token in tokens:
                cols.append(self.vocab.setdefault(token, len(self.vocab)))
                row_ids.append(r)
        counts = sparse.coo_matrix(
            (np.ones(len(cols), np.float32), (np.asarray(row_ids, np.int64), np.asarray(cols, np.int64))),
            shape=(len(docs), len(self.vocab)),
        ).tocsc()  # duplicate (row, term) entries are summed: term counts
        self._segments.append(counts)
        self._lengths = np.concatenate([self._lengths, [float(len(d)) for d in docs]])
        self._alive = np.concatenate([self._alive, np.ones(len(docs), bool)])
        while len(self._segments) > 1 and self._segments[-2].shape[0] <= self._segments[-1].shape[0]:
            newer, older = self._segments.pop(), self._segments.pop()
            width = len(self.vocab)
            self._segments.append(sparse.vstack([_widen(older, width), _widen(newer, width)], format="csc"))

    def remove(self, rows: Sequence[int]) -> None:
        """Forget rows (their scores become 0 and they stop counting in N, df and avgdl)."""
        self._alive[np.asarray(rows, np.int64)] = False

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for the query tokens (repeated tokens count again, as in bm25s)."""
        out = np.zeros(self.rows, np.float64)
        live = int(self._alive.sum())
        if live == 0:
            return out
        avgdl = float(self._lengths[self._alive].sum()) / live
        for token in query:
            term = self.vocab.get(token)
            if term is None:
                continue
            rows, tfs = self._postings(term)
            keep = self._alive[rows]
            rows, tfs = rows[keep], tfs[keep]
            if rows.size == 0:
                continue
            idf = np.log(1.0 + (live - rows.size + 0.5) / (rows.size + 0.5))
            norm = K1 * ((1.0 - B) + B * self._lengths[rows] / avgdl)
            out[rows] += idf * tfs / (norm + tfs)
        return out

    def idf(self, token: str) -> float:
        """The token's inverse document frequency over the live rows (as :meth:`scores` weighs it)."""
        live = int(self._alive.sum())
        term = self.vocab.get(token)
        df = int(self._alive[self._postings(term)[0]].sum()) if term is not None else 0
        return float(np.log(1.0 + (live - df + 0.5) / (df + 0.5)))

    def _postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows containing ``term`` and its count in each, over all segments."""
        rows, tfs, offset = [], [], 0
        for segment in self._segments:
            if term < segment.shape[1]:
                lo, hi = segment.indptr[term], segment.indptr[term + 1]
                rows.append(segment.indices[lo:hi].astype(np.int64) + offset)
                tfs.append(segment.data[lo:hi].astype(np.float64))
            offset += segment.shape[0]
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        return np.concatenate(rows), np.concatenate(tfs)


def _widen(matrix: sparse.csc_matrix, width: int) -> sparse.csc_matrix:
    """The same counts with ``width`` term columns (terms added since have none)."""
    if matrix.shape[1] == width:
        return matrix
    indptr = np.concatenate([matrix.indptr, np.full(width - matrix.shape[1], matrix.indptr[-1])])
    return sparse.csc_matrix((matrix.data, matrix.indices, indptr), shape=(matrix.shape[0], width))
