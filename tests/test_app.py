"""The minimal web page: handlers called directly, and the real Gradio server on 127.0.0.1."""

import socket

import gradio as gr
import httpx
import pytest

from app import build_app, format_hits
from index.ingest import ingest
from index.loaders import load_paths
from tests.conftest import SEED


@pytest.fixture
def seeded(store, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "seed.md").write_bytes(SEED.read_bytes())
    (tmp_path / "in" / "x.jsonl").write_text(
        '{"id": "x", "title": "<script>alert(1)</script>", "text": "<b>bold</b> claims about Baghouz."}\n',
        encoding="utf-8",
    )
    ingest(load_paths([tmp_path / "in"]), store)
    return store


def test_results_render_escaped_with_per_passage_direction(seeded):
    html = format_hits(seeded, "Who controls Baghouz?")
    assert html.count('<p dir="auto">') == 5 and "الباغوز" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;bold" in html


def test_empty_question_is_a_readable_error(seeded):
    with pytest.raises(gr.Error, match="empty"):
        format_hits(seeded, "   ")


def test_the_page_is_served_on_localhost(seeded):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = build_app(seeded)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert page.status_code == 200 and "Sanad" in page.text
    finally:
        demo.close()
