"""Sanad's web app: a Gradio page over the index (the full chat UI arrives with the answers)."""

from __future__ import annotations

import html
import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from index.store import PassageStore, StoreError  # noqa: E402
from qa.retrieve import BadQuestion, retrieve  # noqa: E402

logger = logging.getLogger("sanad")

EXAMPLES = ["Who controls Baghouz?", "من يسيطر على الباغوز؟"]


def format_hits(store: PassageStore, question: str) -> str:
    """Search and render the best passages as HTML, each in its own text direction."""
    try:
        hits = retrieve(store, question, k=5)
    except BadQuestion as e:
        raise gr.Error(str(e)) from e
    except StoreError as e:
        raise gr.Error(str(e)) from e
    if not hits:
        return "<p>The index is empty: ingest articles with <code>sanad ingest PATH</code>.</p>"
    rows = []
    for n, hit in enumerate(hits, 1):
        title = html.escape(hit.title or hit.article_id)
        link = f'<a href="{html.escape(hit.url)}" target="_blank">{title}</a>' if hit.url else title
        meta = " · ".join(html.escape(x) for x in (hit.source, hit.date) if x)
        rows.append(
            f'<div class="hit"><div dir="auto"><b>[{n}]</b> {link} <small>{meta} · score {hit.score:.2f}</small></div>'
            f'<p dir="auto">{html.escape(hit.text)}</p></div>'
        )
    return "\n".join(rows)


def build_app(store: PassageStore) -> gr.Blocks:
    """The page: index statistics and a passage search box."""
    stats = store.stats()
    with gr.Blocks(title="Sanad") as demo:
        gr.Markdown(
            f"# Sanad · سند\n{stats['articles']} articles, {stats['passages']} passages, "
            f"embedding model `{stats['embedding_model']}`"
        )
        question = gr.Textbox(label="Question / السؤال", placeholder="Who controls Baghouz?", rtl=False)
        results = gr.HTML()
        gr.Examples(EXAMPLES, inputs=question)
        question.submit(lambda q: format_hits(store, q), question, results)
        gr.Button("Search").click(lambda q: format_hits(store, q), question, results)
    return demo


def main() -> None:
    """Read settings, build the demo index on first start, and serve."""
    from qa.engine import ensure_demo_index, open_index
    from settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    store = open_index(settings.data_dir, **settings.index_options())
    report = ensure_demo_index(store, settings.demo_articles, **settings.ingest_options())
    if report is not None:
        logger.info("Demo index built: %d articles, %d passages", report.added, report.passages_written)
    build_app(store).launch(server_name=settings.host, server_port=settings.port)


if __name__ == "__main__":
    main()
