"""The web page: handlers called directly, and the real Gradio server on 127.0.0.1."""

import socket

import gradio as gr
import httpx
import pytest

from app import ask, build_app, render_citation
from index.ingest import ingest
from index.loaders import load_paths
from qa.answer import Answerer
from qa.retrieve import Retriever
from qa.types import Citation, Hit
from tests.conftest import SEED


@pytest.fixture
def answerer(store, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "seed.md").write_bytes(SEED.read_bytes())
    ingest(load_paths([tmp_path / "in"]), store)
    return Answerer(Retriever(store))


def test_answer_streams_then_shows_sources_in_their_own_direction(answerer):
    steps = list(ask(answerer, "Who controls Baghouz?"))
    final_answer, sources = steps[-1]
    assert "[1]" in final_answer and 'dir="auto"' in final_answer and "extractive" in final_answer
    assert 'id="source-1"' in sources and "<mark>" in sources and 'dir="auto"' in sources


def test_article_html_is_shown_as_text():
    hit = Hit("p", "a", "<script>alert(1)</script>", "", "", "", "en", "<b>bold</b> claim.", 0, 18, 0.9)
    html = render_citation(Citation(1, hit, "<b>bold</b> claim.", 0, 18))
    assert "<script>" not in html and "&lt;script&gt;" in html and "<mark>&lt;b&gt;bold" in html


def test_empty_question_is_a_readable_error(answerer):
    with pytest.raises(gr.Error, match="empty"):
        list(ask(answerer, "   "))


def test_the_page_is_served_on_localhost(answerer):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = build_app(answerer)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert page.status_code == 200 and "Sanad" in page.text
    finally:
        demo.close()
