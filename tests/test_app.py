"""The chat UI's handlers, called directly with the real answerer (the browser test drives the page)."""

import pytest

from qa.types import Answer, Citation, Hit
from tests.conftest import TOWN
from web.chat import chat, stats_markdown
from web.render import Conversation, answer_html, citation_html


def test_chat_streams_then_shows_the_answer_and_its_sources(service):
    steps = list(chat(service, False, "Who controls Baghouz?", Conversation()))
    box, messages, sources, conversation = steps[-1]
    assert steps[0][0] == "" and [m["role"] for m in messages] == ["user", "assistant"]
    answer = messages[-1]["content"]
    assert 'href="#src-1-1"' in answer and 'dir="auto"' in answer and "extractive" in answer
    assert 'id="src-1-1"' in sources and "<mark>" in sources and TOWN in sources
    assert len(steps) >= 3  # placeholder, streamed text, finished answer
    assert conversation.turns[0].question == "Who controls Baghouz?"


def test_only_the_first_update_empties_the_question_box(service):
    boxes = [step[0] for step in chat(service, False, "Who controls Baghouz?", Conversation())]
    # later updates leave the box alone, so a question typed while the answer streams stays
    assert boxes[0] == "" and all(not isinstance(b, str) for b in boxes[1:])


def test_follow_up_reads_the_conversation(service):
    conversation = Conversation()
    *_, (_, messages, sources, _) = chat(service, False, "Who controls Baghouz?", conversation)
    *_, (_, messages, sources, _) = chat(service, False, "And who shelled it?", conversation)
    assert len(messages) == 4 and len(conversation.turns) == 2
    assert 'href="#src-2-1"' in messages[-1]["content"] and 'id="src-2-1"' in sources and "قصف" in sources
    assert sources.index("And who shelled it?") < sources.index("Who controls Baghouz?")  # newest first


def test_errors_are_readable_messages_and_keep_the_question(service):
    conversation = Conversation()
    *_, (box, messages, _, _) = chat(service, False, "   ", conversation)
    assert not isinstance(box, str) and not conversation.turns  # the box is left as it was
    assert "sanad-error" in messages[-1]["content"] and "empty" in messages[-1]["content"]
    assert "Traceback" not in messages[-1]["content"]


def test_a_long_question_is_refused_without_being_echoed(service):
    question = "why " * 5000
    *_, (_, messages, _, conversation) = chat(service, False, question, Conversation())
    assert len(messages) == 1 and "too long" in messages[0]["content"] and "why why" not in messages[0]["content"]
    assert not conversation.turns


def test_not_found_looks_different_from_an_answer():
    answer = Answer("q", "I could not find this in the articles.", "en", True, "extractive")
    html = answer_html(answer, 1)
    assert "sanad-notfound" in html and "not found in the articles" in html


def test_markers_stay_left_to_right_in_arabic_text():
    answer = Answer("q", "الباغوز تحت سيطرة داعش [1].", "ar", False, "local", [])
    html = answer_html(answer, 3)
    assert '<a class="cite" dir="ltr" href="#src-3-1">[1]</a>' in html and "local model" in html


def test_article_html_is_shown_as_text():
    hit = Hit("p", "a", "<script>alert(1)</script>", "", "", "", "en", "<b>bold</b> claim.", 0, 18, 0.9)
    html = citation_html(Citation(1, hit, "<b>bold</b> claim.", 0, 18))
    assert "<script>" not in html and "&lt;script&gt;" in html and "<mark>&lt;b&gt;bold" in html


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "vbscript:x"])
def test_only_web_links_become_links(url):
    hit = Hit("p", "a", "Title", "", url, "", "en", "Some text.", 0, 10, 0.9)
    html = citation_html(Citation(1, hit))
    assert "<a " not in html and "Title" in html
    web = citation_html(
        Citation(1, Hit("p", "a", "Title", "", "https://example.org/a?b=1&c=2", "", "en", "x", 0, 1, 0.9))
    )
    assert '<a href="https://example.org/a?b=1&amp;c=2"' in web and 'rel="noopener noreferrer"' in web


def test_statistics_name_no_server_path(service):
    report = service.ingest_files([("dates.md", "# Dates\n\nDates grow on palm trees in Al-Ahsa.".encode())], "uploads")
    assert report.added == 1
    stats = stats_markdown(service)
    assert "uploads" in stats and "no source" in stats
    assert "/tmp" not in stats and "chroma" not in stats


def test_embed_snippets_carry_the_address_token_and_size_and_nothing_that_breaks_out():
    from web.render import embed_snippets

    text = embed_snippets("https://sanad.example.org/", "ask-123", 420, 640, "https://wiki.example.org")
    assert '<iframe src="https://sanad.example.org/embed/#token=ask-123" width="420" height="640"' in text
    assert 'SANAD_EMBED_ORIGINS="https://wiki.example.org"' in text and "{{#widget:Sanad}}" in text
    assert "never the admin token" in text
    hostile = embed_snippets('https://x.org/"><script>alert(1)</script>`', "t`<b>", 10**9, -5, "https://w.org")
    assert "<script>" not in hostile and "`<b>" not in hostile and 'width="2000" height="200"' in hostile
    assert "must start with" in embed_snippets("javascript:alert(1)", "", 400, 600, "")
