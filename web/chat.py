"""The Gradio pages: the chat at ``/`` (with an Articles tab) and its compact twin for wiki iframes.

Handlers only format what ``qa`` yields (``web/render.py`` makes the HTML). What the browser
may send is deliberately small: the question text and its date range (and, for ratings, the
index of a message and a comment: ``web/feedback.py``). The conversation lives on the server in
a ``gr.State`` (per browser session), so no component value from the client can name a server
file or forge earlier answers.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Iterator
from importlib.resources import files
from typing import Any, Literal

import gradio as gr

from qa.errors import QAError, classify
from qa.query import clean_question
from qa.service import MAX_HISTORY_TURNS, Filters, Service
from qa.types import Final, Reset, Status, Token
from web import feedback, render
from web.feedback import index_version
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


def chat(
    service: Service,
    footnotes: bool,
    question: str,
    conversation: Conversation | None,
    date_from: str = "",
    date_to: str = "",
) -> Iterator[Update]:
    """Stream one answer into the chat; yields (question box, messages, sources panel, conversation).

    ``footnotes``: each answer carries its sources (the embed), instead of the panel beside the chat.
    ``date_from``, ``date_to``: only articles dated in this range (YYYY, YYYY-MM or YYYY-MM-DD).

    A question sent while an earlier one is being answered is shown at once ("waiting…") and
    answered when its turn comes, in order: nothing sent is lost, and a follow-up sees the
    answer before it.
    """
    conversation = conversation or Conversation()
    turns = conversation.turns
    try:
        question = clean_question(question or "")  # refused before anything is echoed
        filters = date_filters(date_from, date_to)
    except QAError as e:
        shown = render.messages(turns, footnotes) + [{"role": "assistant", "content": render.error_html(str(e))}]
        yield gr.skip(), shown, render.sources_html(turns), conversation  # the box keeps what was typed
        return
    turn = Turn(turns[-1].n + 1 if turns else 1, question)
    earlier = [t for t in turns if not t.finished]
    if earlier:
        turn.status = render.STAGES["waiting"]
    turns.append(turn)
    del turns[: -MAX_HISTORY_TURNS * 2]
    # Only this first update empties the box: what is typed while the answer streams stays.
    yield "", render.messages(turns, footnotes), render.sources_html(turns), conversation
    while any(not t.finished for t in earlier):  # the answers before it stream their own updates
        time.sleep(0.2)
    if turn.finished:  # stopped while it waited
        return
    history = conversation.history()[-MAX_HISTORY_TURNS:]
    turn.status = render.STAGES["searching"]
    try:
        for event in service.ask_stream(question, history, filters):
            if turn.finished:  # stopped
                return
            if isinstance(event, Status):
                turn.status = render.stage(event)
            elif isinstance(event, Token):
                turn.written += event.text
            elif isinstance(event, Reset):
                turn.written = ""
            elif isinstance(event, Final):
                turn.index_version = index_version(service)
                turn.answer = event.answer
                continue
            yield gr.skip(), render.messages(turns, footnotes), gr.skip(), conversation
    except Exception as e:
        problem = classify(e)
        if problem.unexpected:
            logger.exception("Answering failed")
        turn.error = problem.message
    yield gr.skip(), render.messages(turns, footnotes), render.sources_html(turns), conversation


def date_filters(date_from: Any, date_to: Any) -> Filters | None:
    """The chat's date range as filters, None when both are empty; :class:`BadRequest` for a malformed date."""
    start, end = (x.strip() if isinstance(x, str) else "" for x in (date_from, date_to))
    if not start and not end:
        return None
    filters = Filters(date_from=start, date_to=end)
    filters.where()  # raises BadRequest, before the question is echoed
    return filters


def stop(footnotes: bool, conversation: Conversation | None) -> tuple[list[dict[str, str]], Conversation]:
    """Stop the answer being written and the questions waiting behind it (their handlers are cancelled)."""
    conversation = conversation or Conversation()
    for turn in conversation.turns:
        if not turn.finished:
            turn.error = render.STOPPED
    return render.messages(conversation.turns, footnotes), conversation


def new_conversation() -> tuple[Any, str, Conversation]:
    """An empty chat (no thumbs), sources panel and conversation."""
    return gr.update(value=[], feedback_value=[]), render.sources_html([]), Conversation()


ARTICLES_PAGE = 20
ARTICLE_COLUMNS = ["title", "source", "date", "language", "passages"]


def articles_page(service: Service, search: str, page: int) -> tuple[str, list[list[str]], str, list[str], int]:
    """The Articles tab for one page of the (searched) list: stats, table rows, "page i of n", ids, page."""
    try:
        listing = service.articles(ARTICLES_PAGE, max(page, 0) * ARTICLES_PAGE, search or "")
    except Exception as e:
        problem = classify(e)
        if problem.unexpected:
            logger.exception("Listing the articles failed")
        return f"**The index is unavailable:** {problem.message}", [], "", [], 0
    pages = max(1, -(-listing["total"] // ARTICLES_PAGE))
    page = min(max(page, 0), pages - 1)
    if page * ARTICLES_PAGE != listing["offset"]:
        listing = service.articles(ARTICLES_PAGE, page * ARTICLES_PAGE, search or "")
    found = f"{listing['total']} matching · " if search else ""
    info = f"{found}page {page + 1} of {pages}"
    ids = [a["article_id"] for a in listing["articles"]]
    return stats_markdown(service, listing["stats"]), render.article_rows(listing["articles"]), info, ids, page


def show_article(service: Service, deletable: bool, ids: list[str], event: gr.SelectData) -> str:
    """The article of the clicked row, with its passages."""
    row = event.index[0] if isinstance(event.index, list | tuple) else event.index
    if not isinstance(row, int) or not 0 <= row < len(ids):
        return ""
    try:
        return render.article_html(service.article(ids[row]), deletable)
    except Exception as e:
        problem = classify(e)
        if problem.unexpected:
            logger.exception("Reading an article failed")
        return render.error_html(problem.message)


def here(request: gr.Request) -> str:
    """The address the browser reached this server at (a proxy in front may change the scheme)."""
    host = request.headers.get("host", "") if request else ""
    return f"http://{host}" if host else ""


def stats_markdown(service: Service, s: dict[str, Any] | None = None) -> str:
    """Index statistics as Markdown (no server paths: this is shown to anyone who may ask)."""
    try:
        s = s or service.articles(limit=1)["stats"]
    except Exception as e:
        problem = classify(e)
        if problem.unexpected:
            logger.exception("Reading the index statistics failed")
        return f"**The index is unavailable:** {problem.message}"
    languages = ", ".join(f"{'unknown' if k == '?' else k}: {v}" for k, v in s["languages"].items()) or "none"
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
                with gr.Column(scale=3, min_width=300 if not compact else 200):
                    chatbot = gr.Chatbot(
                        elem_id="chat",
                        label="Sanad",
                        height=440 if compact else 520,  # the embed: 600 px, less the question and comment rows
                        buttons=["copy"],
                        feedback_options=("Like", "Dislike") if service.feedback is not None else None,
                        group_consecutive_messages=False,
                        render_markdown=False,
                    )
                    small: Literal["sm", "lg"] = "sm" if compact else "lg"
                    with gr.Row(elem_id="ask-row"):
                        question = gr.Textbox(
                            show_label=False,
                            placeholder="Ask a question · اكتب سؤالك",
                            elem_id="question",
                            scale=5,
                            min_width=120,
                            max_length=2000,
                            rtl=False,
                            text_align=None,
                        )
                        send = gr.Button(
                            "Ask · اسأل", variant="primary", elem_id="ask", scale=0, min_width=60, size=small
                        )
                        halt = gr.Button(
                            "Stop · أوقف", variant="stop", elem_id="stop", scale=0, min_width=60, size=small
                        )
                        if compact:  # one row in the embed: no room for more
                            clear = gr.Button("New · جديد", size="sm", elem_id="clear", scale=0, min_width=60)
                    comments = feedback.comment_row() if service.feedback is not None else None
                    dates: list[gr.Textbox] = []
                    if not compact:
                        with gr.Accordion("Dates · التواريخ", open=False, elem_id="dates"):
                            with gr.Row():
                                for name, label in (("from", "from · من"), ("to", "to · إلى")):
                                    dates.append(
                                        gr.Textbox(
                                            label=label,
                                            placeholder="YYYY, YYYY-MM or YYYY-MM-DD",
                                            elem_id=f"date-{name}",
                                            max_length=10,
                                            min_width=120,
                                        )
                                    )
                        with gr.Row(elem_id="examples"):
                            for example in EXAMPLES:  # filled in by the browser alone: no server call
                                button = gr.Button(example, size="sm", variant="secondary", min_width=60)
                                button.click(None, None, question, js=f"() => {json.dumps(example)}")
                        clear = gr.Button("New conversation · محادثة جديدة", size="sm", elem_id="clear")
                with gr.Column(scale=2, min_width=260, visible=not compact):
                    gr.Markdown("### Sources · المصادر")
                    sources = gr.HTML(render.sources_html([]), elem_id="sources")
        if not compact:
            with gr.Tab("Articles", elem_id="articles-tab"):
                stats = gr.Markdown("Loading the index statistics…", elem_id="stats")
                with gr.Row():
                    search = gr.Textbox(
                        show_label=False,
                        placeholder="Search titles, sources and ids · ابحث في العناوين والمصادر",
                        elem_id="article-search",
                        max_length=200,
                        scale=4,
                    )
                    refresh = gr.Button("Refresh", size="sm", elem_id="refresh-stats", scale=0, min_width=80)
                table = gr.Dataframe(
                    headers=ARTICLE_COLUMNS,
                    interactive=False,
                    elem_id="article-list",
                    wrap=True,
                    max_height=420,
                    show_search="none",
                )
                with gr.Row():
                    newer = gr.Button("← newer", size="sm", elem_id="articles-newer", scale=0, min_width=80)
                    page_info = gr.Markdown(elem_id="articles-page")
                    older = gr.Button("older →", size="sm", elem_id="articles-older", scale=0, min_width=80)
                viewer = gr.HTML("<p class='sanad-meta'>Click an article to read it.</p>", elem_id="article-view")
                page = gr.State(0)
                ids = gr.State([])
                listed = [stats, table, page_info, ids, page]
                listing = functools.partial(articles_page, service)

                def first(search: str) -> tuple[str, list[list[str]], str, list[str], int]:
                    return listing(search, 0)

                ui.load(first, search, listed, api_visibility="private")
                gr.on([search.submit, refresh.click], first, search, listed, api_visibility="private")
                newer.click(lambda s, p: listing(s, p - 1), [search, page], listed, api_visibility="private")
                older.click(lambda s, p: listing(s, p + 1), [search, page], listed, api_visibility="private")

                def read(ids: list[str], event: gr.SelectData) -> str:
                    return show_article(service, uploads, ids, event)

                table.select(read, ids, viewer, api_visibility="private")
                if uploads:
                    gr.Markdown("#### Add articles\nSame formats as `sanad ingest`.")
                    gr.HTML(UPLOAD_FORM)
                else:
                    gr.Markdown(
                        "Adding and deleting articles is off: start the server with `SANAD_ADMIN_TOKEN` set "
                        "to enable it."
                    )

        if not compact:
            with gr.Tab("Embed", elem_id="embed-tab"):
                gr.Markdown("Put the compact chat on a wiki page: fill in, then copy a snippet.")
                with gr.Row():
                    address = gr.Textbox(
                        label="Sanad's address, as the wiki's readers reach it", elem_id="embed-address"
                    )
                    wiki = gr.Textbox(
                        label="The wiki's origin", placeholder="https://wiki.example.org", elem_id="embed-wiki"
                    )
                with gr.Row():
                    ask_token = gr.Textbox(label="Ask token (optional; never the admin token)", type="password")
                    width = gr.Number(400, label="width", precision=0, minimum=200, maximum=2000)
                    height = gr.Number(600, label="height", precision=0, minimum=200, maximum=2000)
                snippet = gr.Markdown(elem_id="embed-snippets")
                fields = [address, ask_token, width, height, wiki]
                ui.load(here, None, address, api_visibility="private")
                gr.on(
                    [address.change, wiki.change, ask_token.change, width.change, height.change],
                    render.embed_snippets,
                    fields,
                    snippet,
                    api_visibility="private",
                )

        target = sources  # hidden in the embed, where each answer carries its sources as footnotes
        asked = gr.on(
            [question.submit, send.click],
            functools.partial(chat, service, compact),
            [question, conversation, *dates],  # the embed has no room for dates: it asks about all
            [question, chatbot, target, conversation],
            api_visibility="private",
            concurrency_limit=8,  # a question waiting behind its conversation's earlier one holds a slot
            trigger_mode="multiple",  # a question sent while one is answered is queued, not dropped
        )
        halt.click(
            functools.partial(stop, compact),
            conversation,
            [chatbot, conversation],
            cancels=[asked],
            api_visibility="private",
        )
        clear.click(new_conversation, None, [chatbot, target, conversation], api_visibility="private")
        if comments is not None:
            feedback.wire(comments, service, "embed" if compact else "chat", chatbot, conversation, clear)
    return ui
