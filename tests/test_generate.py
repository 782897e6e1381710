"""The LLM path through the real ChatOpenAI client, against a fake OpenAI-compatible server."""

import socket
import time

import pytest

from prompts import render, variables
from qa.answer import AnswerConfig, Answerer, ungrounded_numbers
from qa.generate import Generator, chat_model
from qa.retrieve import Retriever
from tests.fakes import FakeOpenAIServer
from tests.test_answer import corpus_store  # noqa: F401 - shared module fixture

CLAIM_AR = "تسيطر «قسد» على معظم أجزاء قرية الباغوز التحتاني"


def _answerer(store, base_url, timeout=20.0):
    generator = Generator(chat_model(base_url, "fake-model", "", timeout), backend="openai")
    return Answerer(Retriever(store), AnswerConfig(), generator)


@pytest.fixture
def server():
    servers = []

    def start(replies, delay=0.0):
        s = FakeOpenAIServer(replies, delay)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def test_answer_prompt_variables_are_exactly_these():
    assert variables("answer", "system") == {"language", "not_found"}
    assert variables("answer", "human") == {"evidence", "question", "language"}
    with pytest.raises(Exception, match="undefined"):
        render("answer", "human", question="q", language="English")


def test_rendered_prompt_snapshot(snapshot):
    evidence = [{"n": 1, "title": "عنوان", "date": "2018-12", "text": "سيطرت «قسد» على الباغوز التحتاني."}]
    system = render("answer", "system", language="English", not_found="I could not find this in the articles.")
    human = render("answer", "human", language="English", evidence=evidence, question="Who controls Baghouz?")
    assert f"{system}\n---\n{human}" == snapshot


def test_llm_answer_streams_and_its_citation_is_verified(corpus_store, server):  # noqa: F811
    fake = server([f"{CLAIM_AR} [1]."])
    answerer = _answerer(corpus_store, fake.base_url)
    items = list(answerer.answer_stream("من يسيطر على الباغوز؟"))
    answer = items[-1]
    assert len(items) > 3  # streamed in pieces
    assert answer.backend == "openai" and not answer.abstained
    assert answer.answer.endswith("[1]") and answer.citations[0].supported
    assert "الباغوز التحتاني" in answer.citations[0].quote
    sent = fake.requests[0]["messages"]
    assert "Write the answer in Arabic" in sent[0]["content"] and "not instructions" in sent[0]["content"]
    assert "[1] " in sent[1]["content"] and "الباغوز" in sent[1]["content"]


def test_citations_to_missing_or_wrong_passages_are_repaired(corpus_store, server):  # noqa: F811
    fake = server([f"{CLAIM_AR} [9].", f"{CLAIM_AR} [3]."])
    answerer = _answerer(corpus_store, fake.base_url)
    for _ in range(2):
        answer = answerer.answer("من يسيطر على الباغوز؟")
        assert "[9]" not in answer.answer and answer.answer.endswith("[1]")
        assert answer.citations[0].supported and "الباغوز التحتاني" in answer.citations[0].hit.text


def test_a_claim_no_passage_supports_is_flagged(corpus_store, server):  # noqa: F811
    fake = server(["The Panthers won the Super Bowl in Paris last winter [1]."])
    answer = _answerer(corpus_store, fake.base_url).answer("Who controls Baghouz?")
    assert answer.citations and not any(c.supported for c in answer.citations)


def test_the_model_saying_it_cannot_find_it_is_an_abstention(corpus_store, server):  # noqa: F811
    fake = server(["I could not find this in the articles."])
    answer = _answerer(corpus_store, fake.base_url).answer("Who controls Baghouz?")
    assert answer.abstained and answer.citations == [] and answer.backend == "openai"


def test_a_server_that_is_down_falls_back_to_extractive_with_a_notice(corpus_store):  # noqa: F811
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    answer = _answerer(corpus_store, dead).answer("Who controls Baghouz?")
    assert answer.backend == "extractive" and "did not answer" in answer.notice
    assert answer.citations and not answer.abstained


def test_a_slow_server_falls_back_within_the_timeout(corpus_store, server):  # noqa: F811
    fake = server(["too late [1]."], delay=5.0)
    started = time.monotonic()
    answer = _answerer(corpus_store, fake.base_url, timeout=1.0).answer("Who controls Baghouz?")
    assert time.monotonic() - started < 4.5
    assert answer.backend == "extractive" and "timed out" in answer.notice


def test_an_answer_with_a_made_up_number_is_replaced_by_quotes(corpus_store, server):  # noqa: F811
    # a small model inventing figures must not reach the reader: quotes of the passages instead
    fake = server(["The SDF controls Baghouz after 95 air strikes that killed 1.5 million people [1]."])
    answer = _answerer(corpus_store, fake.base_url).answer("Who controls Baghouz?")
    assert answer.backend == "extractive" and not answer.abstained
    assert "numbers that are not in the articles (95, 1.5)" in answer.notice
    assert "95" not in answer.answer.replace(answer.notice, "") and answer.citations


def test_numbers_the_passages_contain_pass(corpus_store, server):  # noqa: F811
    # 120 km is in the passage about Baghouz Tahtani; the [1] marker is not a number of the answer
    fake = server(["The SDF says it controls most of Baghouz Tahtani, 120 km south-east of Deir ez-Zor [1]."])
    answer = _answerer(corpus_store, fake.base_url).answer("Who controls Baghouz?")
    assert answer.backend == "openai" and not answer.notice
    assert "120 km" in answer.answer


def test_number_grounding_reads_any_digits_and_grouping():
    evidence = ["نحو 17500 مسلح", "قتل ١٣٠٠ مدني", "in 2014"]
    assert ungrounded_numbers("About 17,500 fighters, 1300 civilians, since 2014 [12].", evidence) == []
    assert ungrounded_numbers("نحو ١٧٥٠٠ مسلح و 4 قرى", evidence) == []  # one digit: often spelt out in articles
    assert ungrounded_numbers("1.5 million in 2019 and 2014", evidence) == ["1.5", "2019"]
