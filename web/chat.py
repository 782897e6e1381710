"""The Gradio pages: the chat at ``/`` (with an Articles tab) and its compact twin for wiki iframes.

Handlers only format what ``qa`` yields (``web/render.py`` makes the HTML). What the browser
may send is deliberately small: the question text. The conversation lives on the server in a
``gr.State`` (per browser session), so no component value from the client can name a server
file or forge earlier answers.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import gradio as gr

from qa.errors import QAError, classify
from qa.query import clean_question
from qa.service import MAX_HISTORY_TURNS, Service
from qa.types import Final, Reset, Status, Token
from web import render
from web.render import Conversation, Turn

logger = logging.getLogger(__name__)

EXAMPLES = ["Who controls Baghouz?", "من يسيطر على الباغوز؟", "And who shelled it?"]
CONVERSATION_SECONDS = 6 * 3600  # a conversation left alone this long is forgotten


def static(name: str) -> str:
    """A file of ``web/static`` as text."""
    return files("web").joinpath("static", name).read_text(encoding="utf-8")


def head() -> str:
    """What goes into the page head: our script, before Gradio's own."""
    return f"<script>\n{static('sanad.js')}\n</script>"


Update = tuple[Any, list[dict[str, str]], str, Conversation]


def chat(service: Service, question: str, conversation: Conversation | None) -> Iterator[Update]:
    """Stream one answer into the chat; yields (question box, messages, sources panel, conversation)."""
    conversation = conversation or Conversation()
    turns = conversation.turns
    try:
        question = clean_question(question or "")  # refused before anything is echoed
    except QAError as e:
        shown = render.messages(turns) + [{"role": "assistant", "content": render.error_html(str(e))}]
        yield gr.skip(), shown, render.sources_html(turns), conversation  # the box keeps what was typed
        return
    history = conversation.history()[-MAX_HISTORY_TURNS:]
    turn = Turn(turns[-1].n + 1 if turns else 1, question)
    turns.append(turn)
    del turns[: -MAX_HISTORY_TURNS * 2]
    written, status = "", render.STAGES["searching"]
    # Only the first update empties the box: what is typed while the answer streams stays.
    yield "", render.messages(turns, written, status), render.sources_html(turns), conversation
    try:
        for event in service.ask_stream(question, history):
            if isinstance(event, Status):
                status = render.stage(event)
            elif isinstance(event, Token):
                written += event.text
            elif isinstance(event, Reset):
                written = ""
            elif isinstance(event, Final):
                turn.answer = event.answer
                continue
            yield gr.skip(), render.messages(turns, written, status), gr.skip(), conversation
    except Exception as e:
        problem = classify(e)
        if problem.unexpected:
            logger.exception("Answering failed")
        turn.error = problem.message
    yield gr.skip(), render.messages(turns), render.sources_html(turns), conversation


def new_conversation() -> tuple[list[dict[str, str]], str, Conversation]:
    """An empty chat, sources panel and conversation."""
    return [], render.sources_html([]), Conversation()


def stats_markdown(service: Service) -> str:
    """Index statistics as Markdown (no server paths: this is shown to anyone who may ask)."""
    try:
        s = service.articles(limit=1)["stats"]
    except Exception as e:
        problem = classify(e)
        if problem.unexpected:
            logger.exception("Reading the index statistics failed")
        return f"**The index is unavailable:** {problem.message}"
    languages = ", ".join(f"{k}: {v}" for k, v in s["languages"].items()) or "none"
    sources = ", ".join(f"{k or 'no source'}: {v}" for k, v in list(s["sources"].items())[:10]) or "none"
    return (
        f"**{s['articles']}** articles, **{s['passages']}** passages · languages {languages} · sources {sources}  \n"
        f"Embedding model `{s['embedding_model']}` ({s['embedding_dim']} dimensions) · answers by "
        f"{render.BACKENDS.get(service.backend, service.backend)}"
    )


UPLOAD_FORM = """
<form class="sanad-upload">
  <label>Admin token <input type="password" name="admin" autocomplete="off" required></label>
  <label>Article files (.txt .md .html .jsonl .jsonl.gz)
    <input type="file" name="files" multiple accept=".txt,.md,.markdown,.html,.htm,.jsonl,.ndjson,.gz"></label>
  <label>Source name (optional) <input type="text" name="source"></label>
  <button type="submit">Ingest</button>
  <div class="sanad-upload-status" role="status"></div>
</form>
"""


def build_ui(service: Service, compact: bool = False, uploads: bool = False) -> gr.Blocks:
    """The chat page; ``compact`` is the embed view (no header, no Articles tab, fits 400×600).

    ``uploads``: the Articles tab offers the upload form (it posts to /api/articles with the
    admin token; nothing is uploaded through Gradio).
    """
    with gr.Blocks(title="Sanad", fill_height=compact, delete_cache=(3600, 3600)) as ui:
        conversation = gr.State(Conversation(), time_to_live=CONVERSATION_SECONDS)
        if not compact:
            gr.Markdown(
                "# Sanad · سند\nAsk about the articles in any language: every claim of the answer is backed by a "
                "numbered source. · اسأل عن المقالات بأي لغة، وكل معلومة في الإجابة موثقة بمصدر مرقّم."
            )
        with gr.Tab("Chat", elem_id="chat-tab") if not compact else gr.Column():
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    chatbot = gr.Chatbot(
                        elem_id="chat",
                        label="Sanad",
                        height=380 if compact else 520,
                        buttons=["copy"],
                        feedback_options=None,
                        group_consecutive_messages=False,
                        render_markdown=False,
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            show_label=False,
                            placeholder="Ask a question · اكتب سؤالك",
                            elem_id="question",
                            scale=5,
                            max_length=2000,
                            rtl=False,
                            text_align=None,
                        )
                        send = gr.Button("Ask · اسأل", variant="primary", elem_id="ask", scale=1, min_width=80)
                    with gr.Row(elem_id="examples"):
                        for example in EXAMPLES:  # filled in by the browser alone: no server call
                            button = gr.Button(example, size="sm", variant="secondary", min_width=60)
                            button.click(None, None, question, js=f"() => {json.dumps(example)}")
                    clear = gr.Button("New conversation · محادثة جديدة", size="sm", elem_id="clear")
                with gr.Column(scale=2, min_width=260, visible=not compact):
                    gr.Markdown("### Sources · المصادر")
                    sources = gr.HTML(render.sources_html([]), elem_id="sources")
            with gr.Accordion("Sources · المصادر", open=False, visible=compact):
                compact_sources = gr.HTML(render.sources_html([]), elem_id="sources-compact")
        if not compact:
            with gr.Tab("Articles", elem_id="articles-tab"):
                stats = gr.Markdown("Loading the index statistics…", elem_id="stats")
                refresh = gr.Button("Refresh", size="sm", elem_id="refresh-stats")
                refresh.click(functools.partial(stats_markdown, service), None, stats, api_visibility="private")
                ui.load(functools.partial(stats_markdown, service), None, stats, api_visibility="private")
                if uploads:
                    gr.Markdown("#### Add articles\nSame formats as `sanad ingest`.")
                    gr.HTML(UPLOAD_FORM)
                else:
                    gr.Markdown("Uploading is off: start the server with `SANAD_ADMIN_TOKEN` set to enable it.")

        target = compact_sources if compact else sources
        gr.on(
            [question.submit, send.click],
            functools.partial(chat, service),
            [question, conversation],
            [question, chatbot, target, conversation],
            api_visibility="private",
            concurrency_limit=4,
        )
        clear.click(new_conversation, None, [chatbot, target, conversation], api_visibility="private")
    return ui
