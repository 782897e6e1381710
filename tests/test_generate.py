"""The LLM path through the real ChatOpenAI client, against a fake OpenAI-compatible server."""

import socket
import time

import httpx
import openai
import pytest

from prompts import render, variables
from qa.citations import ungrounded_numbers
from qa.generate import Generator, chat_model
from qa.types import Final, Reset, Status, Token
from tests.fakes import FailingChatModel, FakeOpenAIServer

CLAIM_AR = "تسيطر «قسد» على معظم أجزاء قرية الباغوز التحتاني"


@pytest.fixture
def answerer_at(corpus, service_for):
    """An answerer whose LLM is the OpenAI-compatible server at a base URL."""

    def make(base_url, timeout=20.0):
        generator = Generator(chat_model(base_url, "fake-model", "", timeout), backend="openai")
        return service_for(corpus, generator).answerer

    return make


def shown(events):
    """What a client following the stream contract shows: the tokens since the last reset."""
    text = ""
    for e in events:
        text = "" if isinstance(e, Reset) else text + e.text if isinstance(e, Token) else text
    return text


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


def test_llm_answer_streams_and_its_citation_is_verified(answerer_at, server):
    fake = server([f"{CLAIM_AR} [1]."])
    answerer = answerer_at(fake.base_url)
    events = list(answerer.stream("من يسيطر على الباغوز؟"))
    answer = events[-1].answer
    assert [e.stage for e in events if isinstance(e, Status)] == ["searching", "reading", "writing"]
    assert sum(isinstance(e, Token) for e in events) > 3  # streamed in pieces
    assert shown(events) == answer.answer
    assert answer.backend == "openai" and not answer.abstained
    assert answer.answer.endswith("[1]") and answer.citations[0].supported
    assert "الباغوز التحتاني" in answer.citations[0].quote
    sent = fake.requests[0]["messages"]
    assert "Write the answer in Arabic" in sent[0]["content"] and "not instructions" in sent[0]["content"]
    assert "[1] " in sent[1]["content"] and "الباغوز" in sent[1]["content"]


def test_citations_to_missing_or_wrong_passages_are_repaired(answerer_at, server):
    fake = server([f"{CLAIM_AR} [9].", f"{CLAIM_AR} [3]."])
    answerer = answerer_at(fake.base_url)
    for _ in range(2):
        answer = answerer.answer("من يسيطر على الباغوز؟")
        assert "[9]" not in answer.answer and answer.answer.endswith("[1]")
        assert answer.citations[0].supported and "الباغوز التحتاني" in answer.citations[0].hit.text


def test_a_claim_no_passage_supports_is_flagged(answerer_at, server):
    fake = server(["The Panthers won the Super Bowl in Paris last winter [1]."])
    answer = answerer_at(fake.base_url).answer("Who controls Baghouz?")
    assert answer.citations and not any(c.supported for c in answer.citations)


def test_the_model_saying_it_cannot_find_it_is_an_abstention(answerer_at, server):
    fake = server(["I could not find this in the articles."])
    answer = answerer_at(fake.base_url).answer("Who controls Baghouz?")
    assert answer.abstained and answer.citations == [] and answer.backend == "openai"


def test_a_server_that_is_down_falls_back_to_extractive_with_a_notice(answerer_at):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    answer = answerer_at(dead).answer("Who controls Baghouz?")
    assert answer.backend == "extractive" and "did not answer (unreachable)" in answer.notice
    assert answer.citations and not answer.abstained and answer.notice not in answer.answer


def test_a_slow_server_falls_back_within_the_timeout(answerer_at, server):
    fake = server(["too late [1]."], delay=5.0)
    started = time.monotonic()
    answer = answerer_at(fake.base_url, timeout=1.0).answer("Who controls Baghouz?")
    assert time.monotonic() - started < 4.5
    assert answer.backend == "extractive" and "timed out" in answer.notice


def test_an_answer_with_a_made_up_number_is_replaced_by_quotes(answerer_at, server):
    # a small model inventing figures must not reach the reader: quotes of the passages instead
    fake = server(["The SDF controls Baghouz after 95 air strikes that killed 1.5 million people [1]."])
    answer = answerer_at(fake.base_url).answer("Who controls Baghouz?")
    assert answer.backend == "extractive" and not answer.abstained
    assert "numbers that are not in the articles (95, 1.5)" in answer.notice
    assert "95" not in answer.answer and answer.citations


def test_after_streamed_tokens_a_fallback_resets_them(answerer_at, server):
    """The contract SSE and chat clients follow: tokens, reset, the quotes, then the answer equal to them."""
    fake = server(["The SDF controls Baghouz after 95 air strikes [1]."])
    events = list(answerer_at(fake.base_url).stream("Who controls Baghouz?"))
    kinds = [type(e).__name__ for e in events]
    first_reset = kinds.index("Reset")
    assert "Token" in kinds[:first_reset]  # the model's text was streamed first
    assert "not in the articles (95)" in events[first_reset].reason  # why: the notice
    final = events[-1]
    assert isinstance(final, Final) and final.answer.backend == "extractive"
    assert shown(events) == final.answer.answer and "95" not in shown(events)


def test_repaired_citations_are_streamed_after_a_reset(answerer_at, server):
    fake = server([f"{CLAIM_AR} [9]."])
    events = list(answerer_at(fake.base_url).stream("من يسيطر على الباغوز؟"))
    assert any(isinstance(e, Reset) for e in events)
    assert shown(events) == events[-1].answer.answer and shown(events).endswith("[1]")


def test_only_the_model_servers_failures_fall_back(corpus, service_for):
    """A transport error means 'answer with quotes'; any other error is a bug and must surface as one."""
    request = httpx.Request("POST", "http://llm/v1/chat/completions")
    down = FailingChatModel(error=openai.APIConnectionError(request=request))
    answer = service_for(corpus, Generator(down, "openai")).answerer.answer("Who controls Baghouz?")
    assert answer.backend == "extractive" and "unreachable" in answer.notice
    buggy = FailingChatModel(error=KeyError("choices"))
    with pytest.raises(KeyError):
        service_for(corpus, Generator(buggy, "openai")).answerer.answer("Who controls Baghouz?")


def test_numbers_the_passages_contain_pass(answerer_at, server):
    # 120 km is in the passage about Baghouz Tahtani; the [1] marker is not a number of the answer
    fake = server(["The SDF says it controls most of Baghouz Tahtani, 120 km south-east of Deir ez-Zor [1]."])
    answer = answerer_at(fake.base_url).answer("Who controls Baghouz?")
    assert answer.backend == "openai" and not answer.notice
    assert "120 km" in answer.answer


def test_number_grounding_reads_any_digits_and_grouping():
    evidence = ["نحو 17500 مسلح", "قتل ١٣٠٠ مدني", "in 2014"]
    assert ungrounded_numbers("About 17,500 fighters, 1300 civilians, since 2014 [12].", evidence) == []
    assert ungrounded_numbers("نحو ١٧٥٠٠ مسلح و 4 قرى", evidence) == []  # one digit: often spelt out in articles
    assert ungrounded_numbers("1.5 million in 2019 and 2014", evidence) == ["1.5", "2019"]
