"""Answers with the real model over the seed article and a few XQuAD articles."""

import json

import pytest

from index.ingest import ingest
from index.lexical import LexicalIndex
from index.loaders import load_paths
from index.store import PassageStore, open_client
from qa.answer import AnswerConfig, Answerer
from qa.retrieve import BadQuestion, Retriever
from tests.conftest import ROOT, SEED

TOWN = "الباغوز التحتاني"


@pytest.fixture(scope="module")
def corpus_store(tmp_path_factory, embeddings):
    """The seed article and three XQuAD articles, with the lexical leg."""
    work = tmp_path_factory.mktemp("answer")
    (work / "in").mkdir()
    (work / "in" / "seed.md").write_bytes(SEED.read_bytes())
    lines = (ROOT / "examples" / "articles" / "xquad-ar.jsonl").read_text(encoding="utf-8").splitlines()
    (work / "in" / "xquad.jsonl").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    store = PassageStore(
        open_client(path=work / "chroma"), "answers", embeddings, lexical=LexicalIndex(work / "lex.sqlite")
    )
    ingest(load_paths([work / "in"]), store)
    return store


@pytest.fixture
def answerer(corpus_store):
    return Answerer(Retriever(corpus_store))


@pytest.mark.parametrize("question", ["Who controls Baghouz?", "من يسيطر على الباغوز؟"])
def test_extractive_answer_quotes_and_cites_the_seed_passage(answerer, question):
    answer = answerer.answer(question)
    assert not answer.abstained and answer.backend == "extractive"
    assert answer.language == ("ar" if "؟" in question else "en")
    assert "[1]" in answer.answer and answer.citations[0].n == 1
    assert any(TOWN in c.hit.text for c in answer.citations)
    seed_text = next(a for a in load_paths([SEED])).text
    for c in answer.citations:
        assert c.quote in c.hit.text and seed_text[c.quote_start : c.quote_end] == c.quote
        assert f"«{c.quote}» [{c.n}]" in answer.answer


def test_answer_json_has_the_documented_shape(answerer):
    data = json.loads(json.dumps(answerer.answer("Who controls Baghouz?").to_dict()))
    assert set(data) == {"question", "answer", "language", "abstained", "backend", "notice", "citations", "timings_ms"}
    assert set(data["timings_ms"]) == {"retrieve", "generate", "total", "first_token"}
    assert 0 < data["timings_ms"]["first_token"] <= data["timings_ms"]["total"]
    cite = data["citations"][0]
    for key in ("n", "article_id", "title", "source", "url", "date", "text", "start", "end", "score", "supported"):
        assert key in cite


@pytest.mark.parametrize(
    "question",
    ["What is the recipe for sourdough bread?", "ما هي أفضل طريقة لزراعة الطماطم في الشتاء؟"],
)
def test_questions_the_articles_do_not_answer_are_refused_without_citations(answerer, question):
    answer = answerer.answer(question)
    assert answer.abstained and answer.citations == []
    assert answer.answer in ("I could not find this in the articles.", "لم أجد إجابة عن هذا السؤال في المقالات.")


def test_a_follow_up_borrows_the_subject_of_the_previous_question(answerer):
    history = [("Who controls Baghouz?", "...")]
    answer = answerer.answer("and who shelled it?", history=history)
    assert not answer.abstained
    assert any("قصف" in c.quote or "بالقذائف" in c.quote for c in answer.citations), answer.answer


def test_streaming_yields_text_then_the_answer(answerer):
    items = list(answerer.answer_stream("من يسيطر على الباغوز؟"))
    assert items[-1].answer == "".join(i.text for i in items[:-1])


@pytest.mark.parametrize("question", ["", "   \n ", "x" * 3000])
def test_empty_and_huge_questions_are_clear_errors(answerer, question):
    with pytest.raises(BadQuestion):
        answerer.answer(question)


def test_abstention_thresholds_are_configurable(corpus_store):
    strict = Answerer(Retriever(corpus_store), AnswerConfig(min_score_arabic=0.99, min_score_other=0.99))
    assert strict.answer("Who controls Baghouz?").abstained
