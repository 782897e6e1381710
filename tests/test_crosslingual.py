"""The second encoder (USE multilingual v3) and its place in the re-ranking: passages in the other script only."""

import numpy as np
import pytest

from index.crosslingual import CrossLingualEncoder
from index.ingest import ingest
from index.loaders import load_paths
from qa.evidence import read_evidence
from qa.query import make_query
from qa.retrieve import CROSS_WEIGHT, OWN_SCRIPT_BIAS, Retriever


@pytest.fixture(scope="module")
def cross():
    return CrossLingualEncoder()


def test_a_translation_is_nearer_than_another_topic_and_vectors_are_unit_length(cross):
    en, ar, other = cross.encode(
        ["Oil prices rose sharply this week.", "ارتفعت أسعار النفط بشدة هذا الأسبوع.", "هطلت أمطار غزيرة على المدينة."]
    )
    assert np.linalg.norm(en) == pytest.approx(1.0, abs=1e-5)
    assert float(en @ ar) > float(en @ other) + 0.2


def test_the_cache_keeps_the_newest_texts_and_returns_the_same_vectors():
    small = CrossLingualEncoder(cache_size=2)
    first = small.encode(["one sentence here", "two sentences here", "three sentences here"])
    assert len(small._cache) == 2 and "one sentence here" not in small._cache
    again = small.encode(["three sentences here", "one sentence here"])
    np.testing.assert_allclose(again[0], first[2], atol=1e-6)
    np.testing.assert_allclose(again[1], first[0], atol=1e-6)


def test_when_candidates_cross_scripts_each_gains_the_weight_times_its_best_sentence_s_cosine(index, tmp_path, cross):
    (tmp_path / "news.jsonl").write_text(
        '{"id": "oil", "text": "ارتفعت أسعار النفط بشدة هذا الأسبوع. وقال محللون إن الطلب سيزيد في الشتاء."}\n'
        '{"id": "rain", "text": "هطلت أمطار غزيرة على المدينة أمس. وأغلقت المدارس أبوابها بسبب السيول."}\n'
        '{"id": "english", "text": "Oil prices rose sharply this week, traders said on Monday.", "lang": "en"}\n',
        encoding="utf-8",
    )
    ingest(load_paths([tmp_path / "news.jsonl"]), index)

    def scores(question, weight, where=None):
        query = make_query(question, index.encoder)
        retriever = Retriever(index.dense, index.lexical, encoder=index.encoder, cross=cross, cross_weight=weight)
        return {h.article_id: h.rank_score for h in retriever.search(query, 3, where)}

    def best(question, sentences):
        q, *vectors = cross.encode([question, *sentences])
        return max(float(q @ v) for v in vectors)

    oil = ["ارتفعت أسعار النفط بشدة هذا الأسبوع.", "وقال محللون إن الطلب سيزيد في الشتاء."]
    rain = ["هطلت أمطار غزيرة على المدينة أمس.", "وأغلقت المدارس أبوابها بسبب السيول."]
    english = ["Oil prices rose sharply this week, traders said on Monday."]
    for question in ("How much did oil prices rise?", "كم ارتفعت أسعار النفط؟"):
        with_, without = scores(question, CROSS_WEIGHT), scores(question, 0.0)
        gain = {aid: with_[aid] - without[aid] for aid in with_}
        assert gain["oil"] == pytest.approx(CROSS_WEIGHT * best(question, oil), abs=1e-5)
        assert gain["rain"] == pytest.approx(CROSS_WEIGHT * best(question, rain), abs=1e-5)
        assert gain["english"] == pytest.approx(CROSS_WEIGHT * best(question, english), abs=1e-5)
        assert gain["oil"] > gain["rain"] + 0.02 and gain["english"] > gain["rain"] + 0.02

    # an Arabic question among Arabic passages only: nothing crosses scripts, nothing changes
    only_arabic = {"lang": "ar"}
    with_, without = (
        scores("كم ارتفعت أسعار النفط؟", CROSS_WEIGHT, only_arabic),
        scores("كم ارتفعت أسعار النفط؟", 0.0, only_arabic),
    )
    assert with_ == pytest.approx(without)


def test_evidence_across_scripts_ranks_by_both_encoders_and_keeps_e5_s_cosine_as_its_score(index, tmp_path, cross):
    (tmp_path / "news.jsonl").write_text(
        '{"id": "oil", "text": "ارتفعت أسعار النفط بشدة هذا الأسبوع. وقال محللون إن الطلب سيزيد في الشتاء."}\n'
        '{"id": "rain", "text": "هطلت أمطار غزيرة على المدينة أمس. وأغلقت المدارس أبوابها بسبب السيول."}\n',
        encoding="utf-8",
    )
    ingest(load_paths([tmp_path / "news.jsonl"]), index)
    retriever = Retriever(index.dense, index.lexical, encoder=index.encoder, cross=cross)
    for question, across in (("How much did oil prices rise?", True), ("كم ارتفعت أسعار النفط؟", False)):
        query = make_query(question, index.encoder)
        hits = retriever.search(query, 2)
        plain, both = read_evidence(query, hits, index.encoder), read_evidence(query, hits, index.encoder, cross)
        assert [s.score for s in plain.ranked] == sorted((s.score for s in plain.ranked), reverse=True)
        assert {s.text: s.score for s in both.ranked} == pytest.approx({s.text: s.score for s in plain.ranked})
        q, *vectors = cross.encode([question, *[s.text for s in both.ranked]])
        expected = [s.score + CROSS_WEIGHT * float(q @ v) if across else s.score for s, v in zip(both.ranked, vectors)]
        assert [s.rank for s in both.ranked] == pytest.approx(expected, abs=1e-5)
        assert [s.rank for s in both.ranked] == sorted((s.rank for s in both.ranked), reverse=True)


def test_the_other_script_is_ranked_on_its_own_and_the_question_s_own_script_loses_e5_s_preference(
    index, tmp_path, cross
):
    # 60 Arabic passages about another price, nearer to the Arabic question than the English one
    # that answers it: one vector search returns only them (e5 prefers the question's language)
    rows = [f'{{"id": "ar{i}", "text": "ارتفع سعر صرف الدينار في بغداد رقم {i} مقابل الدولار."}}' for i in range(60)]
    rows.append(
        '{"id": "en", "text": "Oil prices in the Basra market rose by 12 percent, traders said.", "lang": "en"}'
    )
    (tmp_path / "news.jsonl").write_text("\n".join(rows), encoding="utf-8")
    ingest(load_paths([tmp_path / "news.jsonl"]), index)
    arabic = make_query("كم ارتفعت أسعار النفط في سوق البصرة؟", index.encoder)

    def found(split, bias):
        retriever = Retriever(
            index.dense, index.lexical, encoder=index.encoder, cross=cross, split_scripts=split, own_script_bias=bias
        )
        return [h.article_id for h in retriever.search(arabic, 60)]

    assert not [r for r, _ in index.dense.search(arabic.vector, 50) if r.lang == "en"]  # hidden
    assert "en" not in found(split=False, bias=OWN_SCRIPT_BIAS)
    assert found(split=True, bias=0.0).index("en") > 5  # found, and outranked by its own script's bias
    assert found(split=True, bias=OWN_SCRIPT_BIAS).index("en") == 0

    # up to filtered_max, the other script's passages are searched with Chroma's filter: the English
    # one is there whatever the graph; past it, they are those of a search DEEPER times deeper
    filtered = Retriever(index.dense, index.lexical)._dense_legs(arabic, 5, None)
    assert [r.lang for r, _ in filtered[0]] == ["ar"] * 5 and [r.article_id for r, _ in filtered[1]] == ["en"]
    own, other = Retriever(index.dense, index.lexical, filtered_max=0)._dense_legs(arabic, 5, None)
    deeper = index.dense.search(arabic.vector, 20)
    assert [r.id for r, _ in own] == [r.id for r, _ in deeper if r.lang == "ar"][:5]
    assert [r.id for r, _ in other] == [r.id for r, _ in deeper if r.lang == "en"]
    english = make_query("How much did the dinar rise in Baghdad?", index.encoder)
    own, other = Retriever(index.dense, index.lexical, filtered_max=10)._dense_legs(english, 5, None)
    assert {r.lang for r, _ in own} <= {"en"} and [r.lang for r, _ in other] == ["ar"] * 5


def test_a_latin_script_question_s_names_bring_the_arabic_passages_that_spell_them_among_the_candidates(
    index, tmp_path
):
    # 70 passages nearer in meaning to the question than the one that names Tarvanto: dense
    # search ranks that one last, and BM25 cannot match across scripts
    teams = ["الفهود", "النسور", "الصقور", "الذئاب", "الأسود", "النمور", "الدببة", "الغربان", "الحيتان", "الثيران"]
    rows = [
        f'{{"id": "d{i}", "text": "احتفل مشجعو {teams[i % 10]} باللقب في الساحة الرئيسية للمدينة يوم {i % 28 + 1}."}}'
        for i in range(70)
    ]
    rows.append('{"id": "named", "text": "وقع لاعب ترفانتو عقدا جديدا مع النادي لمدة ثلاث سنوات."}')
    (tmp_path / "news.jsonl").write_text("\n".join(rows), encoding="utf-8")
    ingest(load_paths([tmp_path / "news.jsonl"]), index)
    english = make_query("Where did the fans of Tarvanto celebrate the title?", index.encoder)
    assert [r.article_id for r, _ in index.dense.search(english.vector, 71)][-1] == "named"

    def candidates(query, names_leg):
        hits, _ = Retriever(index.dense, index.lexical, names_leg=names_leg)._ranked(query, 50, None)
        return [h.article_id for h in hits]

    assert "named" not in candidates(english, names_leg=False)
    assert "named" in candidates(english, names_leg=True)[:5]  # 1 of 1 on its leg: among the first fused
    # an Arabic question has its BM25 vote instead: the names leg is for Latin-script questions only
    arabic = make_query("أين احتفل مشجعو الفريق باللقب؟", index.encoder)
    assert candidates(arabic, names_leg=True) == candidates(arabic, names_leg=False)
