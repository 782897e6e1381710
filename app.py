"""Sanad's web app: the chat at ``/``, a compact chat for wiki pages at ``/embed``, and the JSON API.

This module only formats what ``qa`` yields: answers become chat messages with [n] markers
that jump to their sources, citations become a sources panel with the cited sentence marked.
Every message and passage carries ``dir="auto"``, so Arabic reads right-to-left and English
left-to-right in the same conversation.
"""

from __future__ import annotations

import functools
import html
import logging
import os
import re
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from index.store import StoreError  # noqa: E402
from qa.api import create_api  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.service import Service, report_dict  # noqa: E402
from qa.types import Answer, Citation, Token  # noqa: E402

logger = logging.getLogger("sanad")

EXAMPLES = ["Who controls Baghouz?", "من يسيطر على الباغوز؟", "And who shelled it?"]
BACKENDS = {"local": "local model", "openai": "remote model", "extractive": "extractive: quoted sentences"}
# Gradio endpoints that answer questions; they need the ask token when one is configured.
GATED = ("/gradio_api/queue/join", "/gradio_api/call/", "/gradio_api/run/")
MARKER = re.compile(r"\[(\d{1,3})\]")

CSS = """
.sanad-msg { unicode-bidi: plaintext; }
.sanad-msg [dir=auto], .sanad-source [dir=auto] { text-align: start !important; }
.sanad-msg .cite { text-decoration: none; font-weight: 600; cursor: pointer; }
.sanad-meta { font-size: 0.8em; opacity: 0.75; margin-top: 0.4em; }
.sanad-notfound { border-inline-start: 4px solid #d97706; padding-inline-start: 0.6em; }
.sanad-error { border-inline-start: 4px solid #dc2626; padding-inline-start: 0.6em; color: #b91c1c; }
.sanad-notice { font-size: 0.85em; color: #92400e; }
.sanad-source { border: 1px solid #e5e7eb; border-radius: 8px; padding: 0.5em 0.7em; margin: 0.4em 0; }
.sanad-source.flash, .sanad-source:target { outline: 3px solid #f59e0b; background: #fffbeb; }
.sanad-source mark { background: #fde68a; }
.sanad-turn { font-size: 0.85em; opacity: 0.7; margin-top: 0.8em; }
"""

# The embed fills a small iframe: less padding around the chat.
EMBED_CSS = (
    CSS
    + """
.gradio-container { padding: 0 4px !important; }
.gradio-container .main, .gradio-container .wrap { padding-top: 0 !important; }
"""
)

# Runs in the page head: forwards ?token= from the page URL to the app's own requests, and
# makes [n] markers scroll to and flash their source (links inside the chat are otherwise
# opened as new pages).
HEAD = """
<script>
(() => {
  const token = new URLSearchParams(window.location.search).get("token");
  if (token) {
    const original = window.fetch;
    window.fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input), window.location.href);
      if (url.origin === window.location.origin) {
        init = Object.assign({}, init);
        const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
        headers.set("X-Sanad-Token", token);
        init.headers = headers;
      }
      return original(input, init);
    };
  }
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a.cite");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const source = document.getElementById(link.getAttribute("href").slice(1));
    if (!source) return;
    source.scrollIntoView({behavior: "smooth", block: "center"});
    document.querySelectorAll(".sanad-source.flash").forEach((s) => s.classList.remove("flash"));
    source.classList.add("flash");
  }, true);
})();
</script>
"""


def _markers(text: str, turn: int) -> str:
    """Escaped text with each [n] linked to source n of this turn, one block per line.

    Markers stay left-to-right; each line takes its own direction (an English lead, then Arabic quotes).
    """
    lines = [
        MARKER.sub(
            lambda m: f'<a class="cite" dir="ltr" href="#src-{turn}-{m.group(1)}">[{m.group(1)}]</a>',
            html.escape(line),
        )
        for line in text.splitlines()
        if line.strip()
    ]
    return "".join(f'<div dir="auto">{line}</div>' for line in lines)


def render_answer(answer: Answer, turn: int) -> str:
    """The answer as a chat message: its text, and which back end wrote it (or that nothing was found)."""
    body = _markers(answer.answer.removeprefix(answer.notice).strip() if answer.notice else answer.answer, turn)
    notice = f'<div class="sanad-notice" dir="auto">{html.escape(answer.notice)}</div>' if answer.notice else ""
    seconds = answer.timings_ms.get("total", 0) / 1000
    if answer.abstained:
        meta = "not found in the articles"
        return (
            f'<div class="sanad-msg sanad-notfound" dir="auto">{body}</div>'
            f'<div class="sanad-meta">∅ {meta} · {seconds:.1f} s</div>'
        )
    meta = f"{BACKENDS.get(answer.backend, answer.backend)} · {len(answer.citations)} source(s) · {seconds:.1f} s"
    return f'{notice}<div class="sanad-msg" dir="auto">{body}</div><div class="sanad-meta">{meta}</div>'


def render_citation(c: Citation, turn: int = 0) -> str:
    """One source: number, title, date and link, and the passage with the cited sentence marked."""
    h = c.hit
    title = html.escape(h.title or h.article_id)
    link = f'<a href="{html.escape(h.url)}" target="_blank" rel="noopener">{title}</a>' if h.url else title
    meta = " · ".join(html.escape(x) for x in (h.source, h.date) if x)
    text = html.escape(h.text)
    if c.quote and c.quote in h.text:
        text = text.replace(html.escape(c.quote), f"<mark>{html.escape(c.quote)}</mark>", 1)
    flag = "" if c.supported else ' <small class="sanad-unsupported">(not confirmed by the checker)</small>'
    return (
        f'<div class="sanad-source" id="src-{turn}-{c.n}"><div dir="auto"><b dir="ltr">[{c.n}]</b> {link}{flag} '
        f'<small>{meta}</small></div><p dir="auto">{text}</p></div>'
    )


def render_sources(turns: list[dict[str, Any]]) -> str:
    """The sources panel: the cited passages of every answer, newest first."""
    parts = []
    for t in reversed(turns):
        if not t["citations"]:
            continue
        parts.append(f'<div class="sanad-turn" dir="auto">{html.escape(t["question"])}</div>')
        parts.extend(render_citation(c, t["turn"]) for c in t["citations"])
    return "".join(parts) or '<p class="sanad-meta">Sources of the answers appear here.</p>'


def _message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def chat(
    service: Service, question: str, messages: list[dict[str, Any]], turns: list[dict[str, Any]]
) -> Iterator[tuple[str, list[dict[str, Any]], str, list[dict[str, Any]]]]:
    """Stream one answer into the chat; yields (question box, messages, sources panel, turns)."""
    messages = list(messages or [])
    turns = list(turns or [])
    turn = len(turns) + 1
    history = [(t["question"], t["answer"]) for t in turns if not t.get("failed")]
    user = _message("user", f'<div class="sanad-msg" dir="auto">{html.escape(question)}</div>')
    shown = ""
    messages += [user, _message("assistant", '<div class="sanad-meta">…</div>')]
    yield "", messages, render_sources(turns), turns
    try:
        for item in service.ask_stream(question, history):
            if isinstance(item, Token):
                shown += item.text
                messages[-1] = _message("assistant", f'<div class="sanad-msg" dir="auto">{html.escape(shown)}</div>')
                yield "", messages, render_sources(turns), turns
            else:
                turns.append({"turn": turn, "question": question, "answer": item.answer, "citations": item.citations})
                messages[-1] = _message("assistant", render_answer(item, turn))
                yield "", messages, render_sources(turns), turns
    except (QAError, StoreError) as e:
        messages[-1] = _message("assistant", f'<div class="sanad-error" dir="auto">{html.escape(str(e))}</div>')
        yield question, messages, render_sources(turns), turns
    except Exception:
        logger.exception("Answering failed")
        text = "Something went wrong while answering; the details are in the server log."
        messages[-1] = _message("assistant", f'<div class="sanad-error">{text}</div>')
        yield question, messages, render_sources(turns), turns


def stats_markdown(service: Service) -> str:
    """Index statistics as Markdown."""
    try:
        s = service.store.stats()
    except StoreError as e:
        return f"**The index is unavailable:** {e}"
    languages = ", ".join(f"{k}: {v}" for k, v in s["languages"].items()) or "-"
    sources = ", ".join(f"{k}: {v}" for k, v in list(s["sources"].items())[:10]) or "-"
    return (
        f"**{s['articles']}** articles, **{s['passages']}** passages · languages {languages} · sources {sources}  \n"
        f"Embedding model `{s['embedding_model']}` ({s['embedding_dim']} dimensions) · answers by "
        f"{BACKENDS.get(service.backend, service.backend)} · index at `{s['location']}`"
    )


def upload(service: Service, token: str, files: list[Any] | None, source: str, progress: Any = None) -> str:
    """Ingest uploaded files when ``token`` is the admin token; a Markdown report."""
    if not service.access.may_upload(token):
        return "**Not allowed:** the admin token is missing or wrong."
    if not files:
        return "Choose one or more files first (.txt .md .html .jsonl .jsonl.gz)."
    payload = []
    for f in files:
        path = f if isinstance(f, str) else getattr(f, "name", "")
        with open(path, "rb") as handle:
            payload.append((os.path.basename(path), handle.read()))
    try:
        report = report_dict(service.ingest_files(payload, source.strip(), progress=True))
    except (StoreError, ValueError) as e:
        return f"**Upload failed:** {html.escape(str(e))}"
    lines = [
        f"**Done in {report['seconds']} s:** {report['added']} added, {report['updated']} updated, "
        f"{report['unchanged']} unchanged, {report['duplicates']} duplicates; "
        f"{report['passages_written']} passages written, {report['passages_deleted']} removed."
    ]
    lines += [f"- rejected: {html.escape(r['origin'])}: {html.escape(r['reason'])}" for r in report["rejected"]]
    return "\n".join(lines)


def build_ui(service: Service, compact: bool = False) -> gr.Blocks:
    """The chat page; ``compact`` is the embed view (no header, no Articles tab, fits 400×600)."""
    with gr.Blocks(title="Sanad", fill_height=compact) as ui:
        turns = gr.State([])
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
                    gr.Examples(EXAMPLES, inputs=question, label="Examples · أمثلة")
                    clear = gr.Button("New conversation · محادثة جديدة", size="sm", elem_id="clear")
                with gr.Column(scale=2, min_width=260, visible=not compact):
                    gr.Markdown("### Sources · المصادر")
                    sources = gr.HTML(render_sources([]), elem_id="sources")
            with gr.Accordion("Sources · المصادر", open=False, visible=compact):
                compact_sources = gr.HTML(render_sources([]), elem_id="sources-compact")
        if not compact:
            with gr.Tab("Articles", elem_id="articles-tab"):
                stats = gr.Markdown(stats_markdown(service))
                refresh = gr.Button("Refresh", size="sm")
                refresh.click(lambda: stats_markdown(service), None, stats, api_name=False)
                if service.access.admin_token:
                    gr.Markdown("#### Add articles\nSame formats as `sanad ingest`: .txt .md .html .jsonl .jsonl.gz")
                    token = gr.Textbox(label="Admin token", type="password")
                    files = gr.File(label="Article files", file_count="multiple")
                    source = gr.Textbox(label="Source name (optional)")
                    go = gr.Button("Ingest", variant="primary")
                    result = gr.Markdown()

                    def do_upload(t: str, f: list[Any] | None, s: str, progress: Any = gr.Progress(track_tqdm=True)):
                        return upload(service, t, f, s, progress), stats_markdown(service)

                    go.click(do_upload, [token, files, source], [result, stats], api_name=False)
                else:
                    gr.Markdown("Uploading is off: start the server with `SANAD_ADMIN_TOKEN` set to enable it.")

        target = compact_sources if compact else sources

        gr.on(
            [question.submit, send.click],
            functools.partial(chat, service),
            [question, chatbot, turns],
            [question, chatbot, target, turns],
            api_name="chat" if not compact else False,
            concurrency_limit=4,
        )
        clear.click(lambda: ([], render_sources([]), []), None, [chatbot, target, turns], api_name=False)
    return ui


def create_app(service: Service, max_upload_bytes: int = 50 * 1024 * 1024, asks_per_minute: int = 0) -> Any:
    """The ASGI app: API routes first (they take precedence), then /embed, then the chat at /."""
    api = create_api(service, max_upload_bytes=max_upload_bytes, gated_paths=GATED, asks_per_minute=asks_per_minute)
    api = gr.mount_gradio_app(
        api, build_ui(service, compact=True), path="/embed", css=EMBED_CSS, head=HEAD, footer_links=[]
    )
    return gr.mount_gradio_app(api, build_ui(service), path="/", css=CSS, head=HEAD)


def build_service(settings: Any) -> Service:
    """Open the index (building the demo index on first start) and the answer writer."""
    from qa.engine import build_answerer, build_generator, ensure_demo_index, open_index
    from qa.service import Access

    store = open_index(settings.data_dir, **settings.index_options())
    report = ensure_demo_index(store, settings.demo_articles, **settings.ingest_options())
    if report is not None:
        logger.info("Demo index built: %d articles, %d passages", report.added, report.passages_written)
    generator = build_generator(settings.llm, settings.data_dir / "models", **settings.llm_options())
    access = Access(
        api_token=settings.api_token.get_secret_value() if settings.api_token else "",
        admin_token=settings.admin_token.get_secret_value() if settings.admin_token else "",
        embed_origins=settings.origins(),
    )
    return Service(
        build_answerer(store, settings.retrieval, settings.top_k, generator), settings.ingest_options(), access
    )


def serve(settings: Any) -> None:
    """Build everything and serve until interrupted."""
    import uvicorn

    service = build_service(settings)
    app = create_app(service, settings.max_upload_mb * 1024 * 1024, settings.asks_per_minute)
    logger.info("Sanad on http://%s:%d (chat /, embed /embed, API /docs)", settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def main() -> None:
    """``python app.py``: serve with the settings from the environment."""
    from settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    serve(Settings())


if __name__ == "__main__":
    main()
