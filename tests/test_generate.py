"""The LLM path through the real ChatOpenAI client, against a fake OpenAI-compatible server."""

import socket
import time

import pytest

from prompts import render, variables
from qa.answer import AnswerConfig, Answerer
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
    fake = server(["The Panthers won the Super Bowl in Paris in 1850 [1]."])
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
