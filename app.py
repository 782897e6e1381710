"""Sanad's web page: ask a question, read the cited answer and its sources (the chat UI comes next)."""

from __future__ import annotations

import functools
import html
import logging
import os
from collections.abc import Iterator

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from index.store import StoreError  # noqa: E402
from qa.answer import Answerer  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.types import Answer, Citation, Token  # noqa: E402

logger = logging.getLogger("sanad")

EXAMPLES = ["Who controls Baghouz?", "من يسيطر على الباغوز؟"]
BACKENDS = {"local": "local model", "openai": "remote model", "extractive": "extractive (quotes)"}


def render_answer(answer: Answer) -> str:
    """The answer as HTML in its own text direction, with which back end wrote it."""
    note = f'<p class="notice" dir="auto">{html.escape(answer.notice)}</p>' if answer.notice else ""
    body = html.escape(answer.answer).replace("\n", "<br>")
    kind = "not found in the articles" if answer.abstained else BACKENDS.get(answer.backend, answer.backend)
    ms = answer.timings_ms.get("total", 0)
    return f'{note}<div class="answer" dir="auto">{body}</div><p><small>{kind} · {ms:.0f} ms</small></p>'


def render_citation(c: Citation) -> str:
    """One source: number, title, date and link, and the passage with the cited sentence marked."""
    h = c.hit
    title = html.escape(h.title or h.article_id)
    link = f'<a href="{html.escape(h.url)}" target="_blank" rel="noopener">{title}</a>' if h.url else title
    meta = " · ".join(html.escape(x) for x in (h.source, h.date) if x)
    text = html.escape(h.text)
    if c.quote and c.quote in h.text:
        text = text.replace(html.escape(c.quote), f"<mark>{html.escape(c.quote)}</mark>", 1)
    flag = "" if c.supported else " <small>(not confirmed by the checker)</small>"
    return (
        f'<div class="source" id="source-{c.n}"><div dir="auto"><b>[{c.n}]</b> {link}{flag} <small>{meta}</small></div>'
        f'<p dir="auto">{text}</p></div>'
    )


def ask(answerer: Answerer, question: str) -> Iterator[tuple[str, str]]:
    """Stream the answer text, then show the finished answer and its sources."""
    shown = ""
    try:
        for item in answerer.answer_stream(question):
            if isinstance(item, Token):
                shown += item.text
                yield f'<div dir="auto">{html.escape(shown)}</div>', ""
            else:
                yield render_answer(item), "\n".join(render_citation(c) for c in item.citations)
    except (QAError, StoreError) as e:
        raise gr.Error(str(e)) from e
    except Exception as e:
        logger.exception("Answering failed")
        raise gr.Error("Something went wrong while answering; the details are in the server log.") from e


def build_app(answerer: Answerer) -> gr.Blocks:
    """The page: a question box, the answer, and the numbered sources."""
    stats = answerer.retriever.store.stats()
    with gr.Blocks(title="Sanad") as demo:
        gr.Markdown(
            f"# Sanad · سند\nAnswers from {stats['articles']} articles ({stats['passages']} passages), "
            "each claim backed by a numbered source."
        )
        question = gr.Textbox(label="Question / السؤال", placeholder="Who controls Baghouz?")
        answer = gr.HTML()
        sources = gr.HTML()
        gr.Examples(EXAMPLES, inputs=question)
        button = gr.Button("Ask / اسأل", variant="primary")
        gr.on(
            [question.submit, button.click],
            functools.partial(ask, answerer),
            question,
            [answer, sources],
            api_name="ask",
        )
    return demo


def main() -> None:
    """Read settings, build the demo index on first start, and serve."""
    from qa.engine import build_answerer, build_generator, ensure_demo_index, open_index
    from settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    store = open_index(settings.data_dir, **settings.index_options())
    report = ensure_demo_index(store, settings.demo_articles, **settings.ingest_options())
    if report is not None:
        logger.info("Demo index built: %d articles, %d passages", report.added, report.passages_written)
    generator = build_generator(settings.llm, settings.data_dir / "models", **settings.llm_options())
    answerer = build_answerer(store, settings.retrieval, settings.top_k, generator)
    build_app(answerer).launch(server_name=settings.host, server_port=settings.port)


if __name__ == "__main__":
    main()
