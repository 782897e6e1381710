import json

import numpy as np
import pytest

from index.chunking import split_sentences
from index.errors import ModelMismatch
from index.ingest import Chunking, ingest, make_passages
from index.loaders import load_paths
from index.store import DenseStore, open_client
from index.types import Article, sentence_id
from qa.query import make_query
from qa.retrieve import Retriever
from tests.conftest import SEED, TOWN
from tests.fakes import KeywordEmbeddings


def _ingest(index, *paths):
    return ingest(load_paths(list(paths)), index)


def _metas(index):
    return [meta for _, _, meta in index.dense.rows(documents=False)]


def _ids(index):
    return {pid for pid, _, _ in index.dense.rows(documents=False)}


def retrieve(index, question, k=5, where=None):
    """Dense retrieval: the passages closest in meaning."""
    return Retriever(index.dense, mode="dense").search(make_query(question, index.encoder), k, where)


def test_english_and_arabic_questions_find_the_seed_passage(index):
    report = _ingest(index, SEED)
    assert (report.added, report.passages_written) == (1, index.count())
    for question in ("who controls Baghouz?", "من يسيطر على الباغوز؟"):
        top = retrieve(index, question, k=3)
        assert any(TOWN in hit.text for hit in top), [h.text[:50] for h in top]


def test_every_passage_keeps_article_metadata_and_exact_offsets(index, tmp_path):
    feed = tmp_path / "feed.jsonl"
    record = {
        "id": "n1",
        "title": "Title",
        "text": SEED.read_text(encoding="utf-8"),
        "url": "https://x.org/1",
        "date": "2018-12-10",
        "source": "Al Watan",
        "lang": "ar",
    }
    feed.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    _ingest(index, feed)
    rows = list(index.dense.rows())
    assert len(rows) > 3
    for _, text, meta in rows:
        assert (meta["article_id"], meta["title"], meta["source"], meta["url"], meta["date"], meta["lang"]) == (
            "n1",
            "Title",
            "Al Watan",
            "https://x.org/1",
            "2018-12-10",
            "ar",
        )
        assert meta["date_int"] == 20181210
        assert record["text"][meta["start"] : meta["end"]] == text


def test_reingesting_the_same_articles_writes_nothing(index, tmp_path):
    (tmp_path / "seed.md").write_bytes(SEED.read_bytes())
    first = _ingest(index, tmp_path)
    ids = sorted(_ids(index))
    again = _ingest(index, tmp_path)
    assert (again.added, again.updated, again.unchanged, again.passages_written) == (0, 0, 1, 0)
    assert sorted(_ids(index)) == ids and first.passages_written == len(ids)


def test_a_changed_article_replaces_its_passages_without_orphans(index, tmp_path):
    path = tmp_path / "seed.md"
    path.write_bytes(SEED.read_bytes())
    _ingest(index, tmp_path)
    changed = SEED.read_text(encoding="utf-8").replace("الباغوز التحتاني", "الباغوز الفوقاني")
    path.write_text(changed, encoding="utf-8")
    report = _ingest(index, tmp_path)
    assert (report.added, report.updated) == (0, 1) and report.passages_deleted > 0
    [article] = [a for a in load_paths([tmp_path]) if isinstance(a, Article)]
    expected = {p.id for p in make_passages(article)}
    assert _ids(index) == expected
    assert {m["content_hash"] for m in _metas(index)} == {article.content_hash}
    assert not any(TOWN in hit.text for hit in retrieve(index, "من يسيطر على الباغوز؟", k=10))


def test_an_update_interrupted_before_cleanup_is_repaired_by_the_next_run(index, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("عنوان\n" + SEED.read_text(encoding="utf-8"), encoding="utf-8")
    _ingest(index, tmp_path)
    old_count = index.count()
    path.write_text("عنوان آخر\n" + SEED.read_text(encoding="utf-8"), encoding="utf-8")
    [new] = [a for a in load_paths([tmp_path]) if isinstance(a, Article)]
    passages = make_passages(new)
    # a crash right after the new passages were written, before the old ones were deleted:
    index.write(passages, index.encoder.encode_passages([p.text for p in passages]))
    assert index.count() == old_count + len(passages)
    report = _ingest(index, tmp_path)
    assert report.updated == 1 and report.passages_written == 0
    assert _ids(index) == {p.id for p in passages}


def _sentences(passages):
    """(id, text) of every sentence of ``passages``, as re-ranking names them."""
    return [
        (sentence_id(p.id, p.start + s.start, p.start + s.end), p.text[s.start : s.end])
        for p in passages
        for s in split_sentences(p.text)
    ]


def test_every_sentence_is_stored_with_the_models_vector_and_leaves_with_its_passage(index, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("عنوان\n" + SEED.read_text(encoding="utf-8"), encoding="utf-8")
    report = _ingest(index, tmp_path)
    [article] = [a for a in load_paths([tmp_path]) if isinstance(a, Article)]
    ids, texts = zip(*_sentences(make_passages(article)))
    stored = index.dense.sentences.get(ids)
    assert report.sentences_written == len(ids) == len(stored) == index.dense.sentences.count()
    assert np.allclose(np.stack([stored[i] for i in ids]), index.encoder.encode_passages(list(texts)), atol=1e-4)

    path.write_text("عنوان آخر\n" + SEED.read_text(encoding="utf-8"), encoding="utf-8")  # new passage ids
    _ingest(index, tmp_path)
    [changed] = [a for a in load_paths([tmp_path]) if isinstance(a, Article)]
    new_ids = [i for i, _ in _sentences(make_passages(changed))]
    assert set(index.dense.sentences.get([*ids, *new_ids])) == set(new_ids)
    assert index.dense.sentences.count() == len(new_ids)

    index.delete_article(changed.id)
    assert index.dense.sentences.count() == 0


def test_a_passages_sentences_are_written_in_one_call(index, monkeypatch):
    """A crash between two writes leaves a passage with all its sentences or none, never some."""
    monkeypatch.setattr("index.store._PAGE", 3)
    calls: list[list[str]] = []
    collection = index.dense.sentences._collection
    upsert = collection.upsert
    monkeypatch.setattr(collection, "upsert", lambda **kw: calls.append(kw["metadatas"]) or upsert(**kw))
    owners = ["a", "a", "b", "b", "b", "c", "d", "d"]
    vectors = np.eye(len(owners), index.encoder.dimension, dtype=np.float32)
    index.dense.sentences.write([f"s{i}" for i in range(len(owners))], owners, vectors)
    per_call = [{m["passage_id"] for m in metas} for metas in calls]
    assert len(calls) > 1 and all(not (x & y) for i, x in enumerate(per_call) for y in per_call[i + 1 :])
    assert index.dense.sentences.count() == len(owners)


def test_passages_stored_without_their_sentences_get_them_on_the_next_run(index, tmp_path):
    (tmp_path / "seed.md").write_bytes(SEED.read_bytes())
    first = ingest(load_paths([tmp_path]), index, Chunking(embed_sentences=False))
    assert first.passages_written > 0 and first.sentences_written == index.dense.sentences.count() == 0
    revision = index.dense.revision()
    again = _ingest(index, tmp_path)
    assert (again.unchanged, again.passages_written) == (1, 0)
    assert again.sentences_written == index.dense.sentences.count() > 0
    assert index.dense.revision() == revision  # the passages did not change
    assert _ingest(index, tmp_path).sentences_written == 0


def test_identical_articles_under_different_names_are_stored_once(index, tmp_path):
    for name in ("a.md", "copy-of-a.md"):
        (tmp_path / name).write_bytes(SEED.read_bytes())
    report = _ingest(index, tmp_path)
    assert (report.added, report.duplicates) == (1, 1)
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "b.md").write_bytes(SEED.read_bytes())
    later = _ingest(index, tmp_path / "later")
    assert (later.added, later.duplicates, later.passages_written) == (0, 1, 0)
    assert {m["article_id"] for m in _metas(index)} == {"a.md"}


def test_a_bad_file_does_not_stop_the_batch(index, tmp_path):
    (tmp_path / "good.md").write_bytes(SEED.read_bytes())
    (tmp_path / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "feed.jsonl").write_text('{"id": "x", "text": "خبر قصير عن الطقس."}\n{oops\n', encoding="utf-8")
    report = _ingest(index, tmp_path)
    assert report.added == 2
    assert sorted(r.origin.rsplit("/", 1)[-1] for r in report.rejected) == ["broken.txt", "feed.jsonl:2"]
    assert {m["article_id"] for m in _metas(index)} == {"good.md", "x"}


def test_duplicate_ids_in_one_run_are_rejected_not_merged(index, tmp_path):
    (tmp_path / "f.jsonl").write_text(
        '{"id": "same", "text": "الخبر الأول."}\n{"id": "same", "text": "الخبر الثاني المختلف."}\n', encoding="utf-8"
    )
    report = _ingest(index, tmp_path)
    assert report.added == 1 and len(report.rejected) == 1 and "already used" in report.rejected[0].reason


def test_metadata_filters_reach_chroma(index, tmp_path):
    (tmp_path / "f.jsonl").write_text(
        json.dumps({"id": "ar1", "text": "سيطرت القوات على الباغوز.", "source": "A", "date": "2018-12-10"})
        + "\n"
        + json.dumps({"id": "ar2", "text": "سيطرت القوات على هجين.", "source": "B", "date": "2015-07-01"})
        + "\n",
        encoding="utf-8",
    )
    _ingest(index, tmp_path)
    assert {h.article_id for h in retrieve(index, "القوات", k=5, where={"source": "B"})} == {"ar2"}
    assert {h.article_id for h in retrieve(index, "القوات", k=5, where={"date_int": {"$gte": 20180101}})} == {"ar1"}


def test_opening_an_index_with_another_model_is_a_clear_error(tmp_path, encoder):
    client = open_client(path=tmp_path / "chroma")
    DenseStore(client, "col1", KeywordEmbeddings(["baghouz", "hajin"]))
    with pytest.raises(ModelMismatch, match="built with the embedding model 'keyword-fake'"):
        DenseStore(client, "col1", encoder)
    # same dimension, different model: the fingerprint tells them apart
    DenseStore(client, "col2", KeywordEmbeddings(["w"] * 383 + ["x"], name="fake-384"))
    with pytest.raises(ModelMismatch):
        DenseStore(client, "col2", encoder)
    # and the same model opens its own collection again
    DenseStore(client, "col3", encoder)
    DenseStore(client, "col3", encoder)
