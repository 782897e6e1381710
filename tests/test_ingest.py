import json

import pytest

from index.ingest import ingest, make_passages
from index.loaders import load_paths
from index.store import ModelMismatch, PassageStore, open_client
from index.types import Article
from qa.retrieve import retrieve
from tests.conftest import SEED
from tests.fakes import KeywordEmbeddings

TOWN = "الباغوز التحتاني"


def _ingest(store, *paths, **kw):
    return ingest(load_paths(list(paths)), store, **kw)


def _metas(store):
    return [meta for _, meta in store.iter_metadata()]


def test_english_and_arabic_questions_find_the_seed_passage(store):
    report = _ingest(store, SEED)
    assert (report.added, report.passages_written) == (1, store.count())
    for question in ("who controls Baghouz?", "من يسيطر على الباغوز؟"):
        top = retrieve(store, question, k=3)
        assert any(TOWN in hit.text for hit in top), [h.text[:50] for h in top]


def test_every_passage_keeps_article_metadata_and_exact_offsets(store, tmp_path):
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
    _ingest(store, feed)
    page = store.vectorstore.get(include=["metadatas", "documents"])
    assert len(page["ids"]) > 3
    for text, meta in zip(page["documents"], page["metadatas"]):
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


def test_reingesting_the_same_articles_writes_nothing(store, tmp_path):
    (tmp_path / "seed.md").write_bytes(SEED.read_bytes())
    first = _ingest(store, tmp_path)
    ids = sorted(pid for pid, _ in store.iter_metadata())
    again = _ingest(store, tmp_path)
    assert (again.added, again.updated, again.unchanged, again.passages_written) == (0, 0, 1, 0)
    assert sorted(pid for pid, _ in store.iter_metadata()) == ids and first.passages_written == len(ids)


def test_a_changed_article_replaces_its_passages_without_orphans(store, tmp_path):
    path = tmp_path / "seed.md"
    path.write_bytes(SEED.read_bytes())
    _ingest(store, tmp_path)
    changed = SEED.read_text(encoding="utf-8").replace("الباغوز التحتاني", "الباغوز الفوقاني")
    path.write_text(changed, encoding="utf-8")
    report = _ingest(store, tmp_path)
    assert (report.added, report.updated) == (0, 1) and report.passages_deleted > 0
    [article] = [a for a in load_paths([tmp_path]) if isinstance(a, Article)]
    expected = {p.id for p in make_passages(article)}
    assert {pid for pid, _ in store.iter_metadata()} == expected
    assert {m["content_hash"] for m in _metas(store)} == {article.content_hash}
    assert not any(TOWN in hit.text for hit in retrieve(store, "من يسيطر على الباغوز؟", k=10))


def test_an_update_interrupted_before_cleanup_is_repaired_by_the_next_run(store, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("عنوان\n" + SEED.read_text(encoding="utf-8"), encoding="utf-8")
    _ingest(store, tmp_path)
    old_count = store.count()
    path.write_text("عنوان آخر\n" + SEED.read_text(encoding="utf-8"), encoding="utf-8")
    [new] = [a for a in load_paths([tmp_path]) if isinstance(a, Article)]
    passages = make_passages(new)
    # a crash right after the new passages were written, before the old ones were deleted:
    store.upsert(passages, store.embeddings.encode_passages([p.text for p in passages]))
    assert store.count() == old_count + len(passages)
    report = _ingest(store, tmp_path)
    assert report.updated == 1 and report.passages_written == 0
    assert {pid for pid, _ in store.iter_metadata()} == {p.id for p in passages}


def test_identical_articles_under_different_names_are_stored_once(store, tmp_path):
    for name in ("a.md", "copy-of-a.md"):
        (tmp_path / name).write_bytes(SEED.read_bytes())
    report = _ingest(store, tmp_path)
    assert (report.added, report.duplicates) == (1, 1)
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "b.md").write_bytes(SEED.read_bytes())
    later = _ingest(store, tmp_path / "later")
    assert (later.added, later.duplicates, later.passages_written) == (0, 1, 0)
    assert {m["article_id"] for m in _metas(store)} == {"a.md"}


def test_a_bad_file_does_not_stop_the_batch(store, tmp_path):
    (tmp_path / "good.md").write_bytes(SEED.read_bytes())
    (tmp_path / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "feed.jsonl").write_text('{"id": "x", "text": "خبر قصير عن الطقس."}\n{oops\n', encoding="utf-8")
    report = _ingest(store, tmp_path)
    assert report.added == 2
    assert sorted(r.origin.rsplit("/", 1)[-1] for r in report.rejected) == ["broken.txt", "feed.jsonl:2"]
    assert {m["article_id"] for m in _metas(store)} == {"good.md", "x"}


def test_duplicate_ids_in_one_run_are_rejected_not_merged(store, tmp_path):
    (tmp_path / "f.jsonl").write_text(
        '{"id": "same", "text": "الخبر الأول."}\n{"id": "same", "text": "الخبر الثاني المختلف."}\n', encoding="utf-8"
    )
    report = _ingest(store, tmp_path)
    assert report.added == 1 and len(report.rejected) == 1 and "already used" in report.rejected[0].reason


def test_metadata_filters_reach_chroma(store, tmp_path):
    (tmp_path / "f.jsonl").write_text(
        json.dumps({"id": "ar1", "text": "سيطرت القوات على الباغوز.", "source": "A", "date": "2018-12-10"})
        + "\n"
        + json.dumps({"id": "ar2", "text": "سيطرت القوات على هجين.", "source": "B", "date": "2015-07-01"})
        + "\n",
        encoding="utf-8",
    )
    _ingest(store, tmp_path)
    assert {h.article_id for h in retrieve(store, "القوات", k=5, where={"source": "B"})} == {"ar2"}
    assert {h.article_id for h in retrieve(store, "القوات", k=5, where={"date_int": {"$gte": 20180101}})} == {"ar1"}


def test_opening_an_index_with_another_model_is_a_clear_error(tmp_path, embeddings):
    client = open_client(path=tmp_path / "chroma")
    PassageStore(client, "col1", KeywordEmbeddings(["baghouz", "hajin"]))
    with pytest.raises(ModelMismatch, match="built with the embedding model 'keyword-fake'"):
        PassageStore(client, "col1", embeddings)
    # same dimension, different model: the fingerprint tells them apart
    PassageStore(client, "col2", KeywordEmbeddings(["w"] * 383 + ["x"], name="fake-384"))
    with pytest.raises(ModelMismatch):
        PassageStore(client, "col2", embeddings)
    # and the same model opens its own collection again
    PassageStore(client, "col3", embeddings)
    PassageStore(client, "col3", embeddings)
