"""Wiring: the one place that builds the running parts from typed configuration.

``build_service`` is what ``sanad serve``, ``python app.py``, the CLI's ``ask``, the benches and
the tests use; ``settings.py`` turns environment variables into the configs below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index.crosslingual import CrossLingualEncoder
from index.datadir import DataDir
from index.embeddings import Encoder
from index.hybrid import HybridIndex, IndexConfig, open_index
from index.ingest import Chunking, ingest
from index.language import question_language
from index.loaders import load_paths
from index.types import IngestReport
from qa import local_llm
from qa.answer import AnswerConfig, Answerer
from qa.calibration import calibration_for
from qa.errors import ModelUnavailable
from qa.feedback import FeedbackStore
from qa.generate import Generator, chat_model
from qa.line import ModelLine
from qa.retrieve import Mode, Retriever
from qa.service import Service

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LLMConfig:
    """Who writes answers: ``auto``, ``extractive``, ``local`` or ``openai`` (and how to reach it)."""

    backend: str = "auto"
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    api_key: str = ""
    timeout: float = 60.0
    threads: int = 2
    wait: float = 30.0  # seconds a question may wait for the model before it is answered by quoting


@dataclass(frozen=True)
class ServiceConfig:
    """Everything :func:`build_service` needs."""

    data: DataDir
    index: IndexConfig = field(default_factory=IndexConfig)
    chunking: Chunking = field(default_factory=Chunking)
    llm: LLMConfig = field(default_factory=LLMConfig)
    retrieval: Mode = "hybrid"
    top_k: int = 5
    demo_articles: Path | None = None  # ingested when the index is empty


def build_service(
    config: ServiceConfig,
    *,
    watch: bool = False,
    encoder: Encoder | None = None,
    progress: Callable[[str], None] = lambda phase: None,
) -> Service:
    """Open the index (building the demo index on first start) and the answer writer.

    ``watch``: follow other processes' writes in the background (a server); ``encoder``: reuse a
    loaded embedding model (tests, benches); ``progress``: told each phase of the start-up.
    """
    progress("loading the embedding model (on a first start: converting it, about a minute)")
    index = open_index(config.data, config.index, encoder)
    if config.demo_articles is not None:
        report = ensure_demo_index(index, config.demo_articles, config.chunking, progress)
        if report is not None:
            logger.info("Demo index built: %d articles, %d passages", report.added, report.passages_written)
    if watch:
        if index.lexical is not None:
            index.lexical.warm()  # the first question should not pay for building BM25
        question_language("Which language is this in?")  # loads langdetect's profiles (~1 s) before a question does
        index.watch()
    if config.llm.backend != "extractive":
        progress("starting the language model")
    generator = build_generator(config.llm, config.data, steady=watch)
    answerer = build_answerer(index, config.retrieval, config.top_k, generator, ModelLine(config.llm.wait))
    if watch and answerer.retriever.cross is not None:
        answerer.retriever.cross.warm()  # a second; else the first question across scripts pays it
    return Service(answerer, index, config.chunking, feedback=FeedbackStore(config.data.feedback))


def build_answerer(
    index: HybridIndex,
    retrieval: Mode = "hybrid",
    top_k: int = 5,
    generator: Generator | None = None,
    line: ModelLine | None = None,
) -> Answerer:
    """The answerer over ``index``: the given retrieval, the model's calibration, and ``generator`` to write."""
    cross = CrossLingualEncoder()
    retriever = Retriever(index.dense, index.lexical, mode=retrieval, encoder=index.encoder, cross=cross)
    config = AnswerConfig(k=top_k)
    return Answerer(index.encoder, retriever, calibration_for(index.encoder), config, generator, line)


def build_generator(config: LLMConfig, data: DataDir, steady: bool = False) -> Generator | None:
    """The LLM for ``config.backend`` ('auto', 'local', 'openai'), or None for extractive answers.

    ``steady``: for the local model, also start it on one thread, to write while the machine is busy.
    """
    backend = config.backend
    if backend == "auto":
        backend = "local" if local_llm.is_available(data.models) else "extractive"
    if backend == "extractive":
        return None
    if backend == "openai":
        if not config.base_url and not config.api_key:
            raise ModelUnavailable("SANAD_LLM=openai needs SANAD_LLM_BASE_URL (and SANAD_LLM_API_KEY for OpenAI).")
        base_url = config.base_url or "https://api.openai.com/v1"
        return Generator(chat_model(base_url, config.model, config.api_key, config.timeout), "openai")
    if backend == "local":
        gguf = local_llm.ensure_gguf(data.models)
        server = local_llm.LocalServer(gguf, threads=config.threads)
        chat = chat_model(server.base_url, server.model, "", config.timeout)
        generator = Generator(chat, "local", min_p_found=local_llm.MIN_P_FOUND)
        generator.server = server  # keep the in-process server alive as long as the generator
        if steady and config.threads > 1:  # the weights are memory-mapped: a second server costs its cache only
            generator.steady_server = local_llm.LocalServer(gguf, threads=1)
            generator.steady = chat_model(generator.steady_server.base_url, server.model, "", config.timeout)
        return generator
    raise ModelUnavailable(f"Unknown LLM back end {backend!r}: use auto, extractive, local or openai.")


def ensure_demo_index(
    index: HybridIndex,
    demo_dir: Path,
    chunking: Chunking | None = None,
    progress: Callable[[str], None] = lambda phase: None,
) -> IngestReport | None:
    """Ingest the demo articles when the index is empty (first start); None when it was not."""
    if index.count() > 0 or not demo_dir.is_dir():
        return None
    logger.info("Empty index: ingesting the demo articles from %s", demo_dir)
    progress("indexing the demo articles")

    def embedded(done: int, planned: int) -> None:
        progress(f"indexing the demo articles ({done}/{planned} passages)")

    return ingest(load_paths([demo_dir]), index, chunking, on_passages=embedded)
