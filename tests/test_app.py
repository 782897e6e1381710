"""The chat UI's handlers, called directly with the real answerer (the browser test drives the page)."""

from pathlib import Path

import pytest

from app import chat, render_answer, render_citation, stats_markdown, upload
from qa.answer import Answerer
from qa.retrieve import Retriever
from qa.service import Access, Service
from qa.types import Answer, Citation, Hit
from tests.test_answer import TOWN, corpus_store  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def service(corpus_store):  # noqa: F811
    return Service(Answerer(Retriever(corpus_store)), access=Access(admin_token="admin"))


def test_chat_streams_then_shows_the_answer_and_its_sources(service):
    steps = list(chat(service, "Who controls Baghouz?", [], []))
    box, messages, sources, turns = steps[-1]
    assert box == "" and [m["role"] for m in messages] == ["user", "assistant"]
    answer = messages[-1]["content"]
    assert 'href="#src-1-1"' in answer and 'dir="auto"' in answer and "extractive" in answer
    assert 'id="src-1-1"' in sources and "<mark>" in sources and TOWN in sources
    assert len(steps) >= 3  # placeholder, streamed text, finished answer
    assert turns[0]["question"] == "Who controls Baghouz?"


def test_follow_up_reads_the_conversation(service):
    *_, (_, messages, sources, turns) = chat(service, "Who controls Baghouz?", [], [])
    *_, (_, messages, sources, turns) = chat(service, "And who shelled it?", messages, turns)
    assert len(messages) == 4 and len(turns) == 2
    assert 'href="#src-2-1"' in messages[-1]["content"] and 'id="src-2-1"' in sources and "قصف" in sources
    assert sources.index("And who shelled it?") < sources.index("Who controls Baghouz?")  # newest first


def test_errors_are_readable_messages_and_keep_the_question(service):
    *_, (box, messages, _, turns) = chat(service, "   ", [], [])
    assert box == "   " and not turns
    assert "sanad-error" in messages[-1]["content"] and "empty" in messages[-1]["content"]
    assert "Traceback" not in messages[-1]["content"]


def test_not_found_looks_different_from_an_answer():
    answer = Answer("q", "I could not find this in the articles.", "en", True, "extractive")
    html = render_answer(answer, 1)
    assert "sanad-notfound" in html and "not found in the articles" in html


def test_markers_stay_left_to_right_in_arabic_text():
    answer = Answer("q", "الباغوز تحت سيطرة داعش [1].", "ar", False, "local", [])
    html = render_answer(answer, 3)
    assert '<a class="cite" dir="ltr" href="#src-3-1">[1]</a>' in html and "local model" in html


def test_article_html_is_shown_as_text():
    hit = Hit("p", "a", "<script>alert(1)</script>", "", "", "", "en", "<b>bold</b> claim.", 0, 18, 0.9)
    html = render_citation(Citation(1, hit, "<b>bold</b> claim.", 0, 18))
    assert "<script>" not in html and "&lt;script&gt;" in html and "<mark>&lt;b&gt;bold" in html


def test_upload_needs_the_admin_token(service, tmp_path: Path):
    article = tmp_path / "dates.md"
    article.write_text("# Dates\n\nDates grow on palm trees in the oases of Al-Ahsa.", encoding="utf-8")
    assert "Not allowed" in upload(service, "wrong", [str(article)], "")
    report = upload(service, "admin", [str(article)], "uploads")
    assert "1 added" in report
    assert "1 unchanged" in upload(service, "admin", [str(article)], "uploads")
    assert "uploads" in stats_markdown(service)
