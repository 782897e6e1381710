"""Hybrid retrieval over the real store: legs, fusion, filters and lexical sync."""

import pytest

from index.ingest import ingest
from index.lexical import LexicalIndex
from index.loaders import load_paths
from index.store import PassageStore, open_client
from qa.retrieve import Fusion, Retriever
from tests.conftest import SEED


@pytest.fixture
def hybrid_store(tmp_path, embeddings):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "seed.md").write_bytes(SEED.read_bytes())
    (tmp_path / "in" / "other.jsonl").write_text(
        '{"id": "o1", "text": "افتتح معرض الرياض الدولي للكتاب أبوابه أمس بمشاركة واسعة.", "source": "S2"}\n'
        '{"id": "e1", "text": "The Riyadh book fair of 2018 hosted publishers from thirty countries.", "lang": "en"}\n',
        encoding="utf-8",
    )
    store = PassageStore(
        open_client(path=tmp_path / "chroma"), "hybrid", embeddings, lexical=LexicalIndex(tmp_path / "lex.sqlite")
    )
    ingest(load_paths([tmp_path / "in"]), store)
    return store


def test_lexical_index_mirrors_chroma_after_ingest(hybrid_store):
    assert hybrid_store.lexical.count() == hybrid_store.count()
    assert hybrid_store.lexical.revision == hybrid_store.revision() != ""


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_finds_the_town_for_an_arabic_question(hybrid_store, mode):
    hits = Retriever(hybrid_store, mode=mode).retrieve("من يسيطر على الباغوز التحتاني؟", k=3)
    assert any("الباغوز التحتاني" in h.text for h in hits)


def test_bm25_votes_only_within_the_question_script(hybrid_store):
    lexical = Retriever(hybrid_store, mode="lexical")
    anywhere = Retriever(hybrid_store, mode="lexical", fusion=Fusion(same_script_only=False))
    # the number is in the Arabic seed article: an unrestricted vote would go there
    q = "Which town lies 120 km south-east of Deir ez-Zor?"
    assert {h.lang for h in anywhere.retrieve(q, k=5)} == {"ar"}
    assert lexical.retrieve(q, k=5) == []
    assert [h.article_id for h in lexical.retrieve("book fair 2018", k=5)] == ["e1"]
    assert {h.lang for h in lexical.retrieve("معرض الكتاب 2018", k=5)} == {"ar"}


def test_filters_apply_to_both_legs(hybrid_store):
    retriever = Retriever(hybrid_store, fusion=Fusion(same_script_only=False))
    for q in ("معرض الكتاب", "book fair"):
        hits = retriever.retrieve(q, k=5, where={"source": "S2"})
        assert [h.article_id for h in hits] == ["o1"]


def test_a_lexical_index_that_missed_changes_is_rebuilt(hybrid_store, tmp_path):
    # another process (or a crash) left the lexical file behind Chroma
    hybrid_store.lexical.delete([pid for pid, _ in hybrid_store.iter_metadata()][:3])
    hybrid_store.lexical.set_revision("stale")
    assert hybrid_store.sync_lexical() is True
    assert hybrid_store.lexical.count() == hybrid_store.count()
    assert hybrid_store.sync_lexical() is False


def test_an_ingestion_in_progress_is_not_mistaken_for_a_missed_change(hybrid_store):
    revision = hybrid_store.begin_change()  # this process is writing: both legs get every write
    assert hybrid_store.sync_lexical() is False
    hybrid_store.end_change(revision)
    assert hybrid_store.sync_lexical() is False
    hybrid_store.begin_change()
    hybrid_store.abandon_change()  # it failed midway: the next check rebuilds
    assert hybrid_store.sync_lexical() is True
