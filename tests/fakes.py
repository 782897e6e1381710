"""Fakes that implement the real interfaces, for tests where ranking must be predictable."""

from __future__ import annotations

import numpy as np
from langchain_core.embeddings import Embeddings


class KeywordEmbeddings(Embeddings):
    """One dimension per vocabulary word: a text's vector counts the words it contains.

    Implements what ``PassageStore`` uses of ``PassageEmbeddings``.
    """

    def __init__(self, vocabulary: list[str], name: str = "keyword-fake"):
        self.vocabulary = vocabulary
        self.name = name
        self.dimension = len(vocabulary) + 1  # the last dimension keeps empty texts non-zero
        self.batch_size = 8

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            words = text.lower().split()
            row = np.array([words.count(w) for w in self.vocabulary] + [0.1], np.float32)
            rows.append(row / np.linalg.norm(row))
        return np.array(rows, np.float32).reshape(len(texts), self.dimension)

    encode_queries = encode_passages

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_queries([text])[0].tolist()

    def fingerprint(self) -> list[float]:
        return [round(float(x), 4) for x in self.encode_passages([" ".join(self.vocabulary)])[0]]
