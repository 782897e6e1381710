"""Hybrid retrieval over the real index: legs, fusion, filters, similarity, and the lexical mirror's catch-up."""

import numpy as np
import pytest

from index.cache import RecentVectors
from index.ingest import ingest
from index.loaders import load_paths
from qa.query import make_query
from qa.retrieve import NAME_WEIGHT, Retriever
from tests.conftest import SEED


@pytest.fixture
def hybrid(tmp_path, index):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "seed.md").write_bytes(SEED.read_bytes())
    (tmp_path / "in" / "other.jsonl").write_text(
        '{"id": "o1", "text": "افتتح معرض الرياض الدولي للكتاب أبوابه أمس بمشاركة واسعة.", "source": "S2"}\n'
        '{"id": "e1", "text": "The Riyadh book fair of 2018 hosted publishers from thirty countries.", "lang": "en"}\n',
        encoding="utf-8",
    )
    ingest(load_paths([tmp_path / "in"]), index)
    return index


def search(index, question, mode="hybrid", k=5, where=None):
    return Retriever(index.dense, index.lexical, mode=mode).search(make_query(question, index.encoder), k, where)


def test_lexical_index_mirrors_chroma_after_ingest(hybrid):
    assert hybrid.lexical.count() == hybrid.count()
    assert hybrid.lexical.revision == hybrid.dense.revision() != ""


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_finds_the_town_for_an_arabic_question(hybrid, mode):
    hits = search(hybrid, "من يسيطر على الباغوز التحتاني؟", mode, k=3)
    assert any("الباغوز التحتاني" in h.text for h in hits)


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_hit_carries_its_cosine_similarity_whatever_ranked_it(hybrid, mode):
    query = make_query("من يسيطر على الباغوز التحتاني؟", hybrid.encoder)
    hits = Retriever(hybrid.dense, hybrid.lexical, mode=mode).search(query, 5)
    texts = {h.passage_id: v for h in hits for _, v in [hybrid.dense.get([h.passage_id])[h.passage_id]]}
    for h in hits:
        assert h.similarity == pytest.approx(float(texts[h.passage_id] @ query.vector), abs=1e-3)
    scores = [h.rank_score for h in hits]
    assert scores == sorted(scores, reverse=True)  # what ordered them
    if mode == "dense":
        assert all(h.rank_score == h.similarity for h in hits)
    else:  # fused rank scores or BM25 scores: not cosines, and abstention never compares them
        assert all(h.rank_score != pytest.approx(h.similarity) for h in hits)


def test_bm25_votes_only_within_the_question_script(hybrid):
    retriever = Retriever(hybrid.dense, hybrid.lexical, mode="hybrid")
    q = make_query("Which town lies 120 km south-east of Deir ez-Zor?", hybrid.encoder)
    where = retriever.lexical_where(q, None)
    # the number is in the Arabic seed article: an unrestricted BM25 vote would go there
    assert {hybrid.dense.get([pid])[pid][0].lang for pid, _ in hybrid.lexical.search(q.text, 5, None)} == {"ar"}
    assert hybrid.lexical.search(q.text, 5, where) == []
    arabic = make_query("معرض الكتاب 2018", hybrid.encoder)
    ids = [pid for pid, _ in hybrid.lexical.search(arabic.text, 5, retriever.lexical_where(arabic, None))]
    assert {hybrid.dense.get([pid])[pid][0].lang for pid in ids} == {"ar"}
    assert [h.article_id for h in search(hybrid, "book fair 2018", "lexical")] == ["e1"]
    assert search(hybrid, "Which town lies 120 km south-east of Deir ez-Zor?", "lexical") == []


def test_filters_apply_to_both_legs(hybrid):
    for q, modes in (("معرض الكتاب", ("dense", "lexical", "hybrid")), ("book fair", ("dense", "hybrid"))):
        for mode in modes:  # (English words cannot match the Arabic article lexically)
            hits = search(hybrid, q, mode, where={"source": "S2"})
            assert [h.article_id for h in hits] == ["o1"], mode
    assert search(hybrid, "book fair", "lexical", where={"source": "S2"}) == []


def test_a_lexical_index_that_missed_changes_is_caught_up(hybrid):
    # another process (or a crash) left the lexical file behind Chroma
    hybrid.lexical.delete([pid for pid, _, _ in hybrid.dense.rows(documents=False)][:3])
    hybrid.lexical.set_revision("stale")
    assert hybrid.catch_up() is True
    assert hybrid.lexical.count() == hybrid.count()
    assert hybrid.catch_up() is False


def test_an_ingestion_in_progress_is_not_mistaken_for_a_missed_change(hybrid):
    revision = hybrid.begin_change()  # this process is writing: both legs get every write
    assert hybrid.catch_up() is False
    hybrid.end_change(revision)
    assert hybrid.catch_up() is False
    hybrid.begin_change()
    hybrid.abandon_change()  # it failed midway: the next check rebuilds
    assert hybrid.catch_up() is True


def test_a_latin_script_question_s_names_raise_the_passages_that_spell_them_in_arabic(index, tmp_path):
    (tmp_path / "teams.jsonl").write_text(
        "".join(
            f'{{"id": "{team}", "text": "فاز فريق {name} باللقب بعد مباراة صعبة في الملعب الكبير أمام جمهور غفير."}}\n'
            for team, name in (
                ("broncos", "دنفر برونكوز"),
                ("panthers", "كارولينا بانثرز"),
                ("seattle", "سياتل سي هوكس"),
            )
        ),
        encoding="utf-8",
    )
    with open(tmp_path / "teams.jsonl", "a", encoding="utf-8") as f:
        f.write(
            '{"id": "english", "text": "The Carolina Panthers won the title in 2016 after a hard game.", "lang": "en"}\n'
        )
    ingest(load_paths([tmp_path / "teams.jsonl"]), index)

    def scores(question, name_weight=NAME_WEIGHT):
        query = make_query(question, index.encoder)
        retriever = Retriever(index.dense, index.lexical, encoder=index.encoder, name_weight=name_weight)
        return {h.article_id: h.rank_score for h in retriever.search(query, 4)}

    panthers, seattle = scores("Did the Carolina Panthers win in 2016?"), scores("Did the Seattle Seahawks win?")
    panthers_0 = scores("Did the Carolina Panthers win in 2016?", name_weight=0.0)
    seattle_0 = scores("Did the Seattle Seahawks win?", name_weight=0.0)
    arabic = {team: score for team, score in panthers.items() if team != "english"}
    assert max(arabic, key=arabic.get) == "panthers"
    # both names found, not the year: 2 of 3
    assert panthers["panthers"] - panthers_0["panthers"] == pytest.approx(NAME_WEIGHT * 2 / 3)
    assert panthers["broncos"] == pytest.approx(panthers_0["broncos"])
    # an English passage's words (the year too) are BM25's to match, not this rule's
    assert panthers["english"] == pytest.approx(panthers_0["english"])
    # «سي هوكس» is two words, so one of the two names is found
    assert seattle["seattle"] - seattle_0["seattle"] == pytest.approx(NAME_WEIGHT / 2)


def _watch_embedding(encoder, monkeypatch):
    """The texts ``encoder`` embeds from now on, and its real ``encode_passages``."""
    embedded: list[str] = []
    model = encoder.encode_passages
    monkeypatch.setattr(encoder, "encode_passages", lambda texts: embedded.extend(texts) or model(texts))
    return embedded, model


def test_a_question_reads_its_candidates_sentences_from_the_store(hybrid, monkeypatch):
    """Ingestion stored every passage's sentences: re-ranking embeds none of them."""
    hybrid.encoder.recent.clear()
    embedded, model = _watch_embedding(hybrid.encoder, monkeypatch)
    retriever = Retriever(hybrid.dense, hybrid.lexical, encoder=hybrid.encoder)
    hits = retriever.search(make_query("من يسيطر على الباغوز؟", hybrid.encoder))
    sentences = [s for h in hits for s in h.sentences]
    assert sentences and embedded == [] and len(hybrid.encoder.recent) == 0
    kept = np.stack([s.vector for s in sentences])
    assert np.allclose(kept, model([s.text for s in sentences]), atol=1e-4)  # the model's vectors, not others


def test_sentences_read_for_one_question_are_not_embedded_again_for_the_next(hybrid, monkeypatch):
    """Without stored sentences (an older index), a follow-up reads the ones embedded for the first from memory."""
    hybrid.dense.sentences.delete([pid for pid, _, _ in hybrid.dense.rows(documents=False)])
    assert hybrid.dense.sentences.count() == 0
    encoder = hybrid.encoder
    encoder.recent.clear()
    embedded, model = _watch_embedding(encoder, monkeypatch)
    retriever = Retriever(hybrid.dense, hybrid.lexical, encoder=encoder)  # re-ranking by sentence, as answers do
    first = retriever.search(make_query("من يسيطر على الباغوز؟", encoder))
    read = len(embedded)
    retriever.search(make_query("ومن قصف الباغوز؟", encoder))  # the index is small: the same candidates
    assert read > 0 and len(embedded) == read
    sentences = [s for h in first for s in h.sentences]
    kept = np.stack([s.vector for s in sentences])
    assert np.allclose(kept, model([s.text for s in sentences]), atol=1e-4)  # the model's vectors, not others


def test_recent_vectors_forget_the_least_recently_used_first():
    recent = RecentVectors(2)
    recent.put(["a", "b"], np.eye(2, dtype=np.float32))
    assert recent.get(["a"])[0] is not None  # "a" is now more recent than "b"
    recent.put(["c"], np.ones((1, 2), np.float32))
    assert [v is not None for v in recent.get(["a", "b", "c"])] == [True, False, True] and len(recent) == 2
