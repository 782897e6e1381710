"""HTML for the chat: answers with [n] markers that jump to their sources, and the sources panel.

Plain functions from ``qa`` records to escaped HTML strings; no Gradio here. Every message and
passage carries ``dir="auto"``, so Arabic reads right-to-left and English left-to-right in the
same conversation, while [n] markers stay left-to-right.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from qa.types import Answer, Citation, Status

BACKENDS = {"local": "local model", "openai": "remote model", "extractive": "extractive: quoted sentences"}
MARKER = re.compile(r"\[(\d{1,3})\]")
STAGES = {
    "searching": "searching the articles… · أبحث في المقالات…",
    "reading": "reading {n} passages… · أقرأ {n} مقاطع…",
    "queued": "waiting for the language model: {place} ahead… · في انتظار النموذج اللغوي…",
    "writing": "writing the answer… · أكتب الإجابة…",
    "waiting": "waiting for the answer before it… · في انتظار الإجابة السابقة…",
}
STOPPED = "Stopped. · أُوقفت."
_SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)


@dataclass
class Turn:
    """One exchange of a conversation as the chat shows it."""

    n: int
    question: str
    answer: Answer | None = None  # None while it is being written, or when it failed
    error: str = ""
    written: str = ""  # the answer's text so far, while it streams
    status: str = STAGES["searching"]  # what is being done before its first word
    index_version: str = ""  # the index revision the answer came from (kept with its rating)
    feedback_id: int | None = None  # its stored 👍/👎, once rated
    rating: int = 0  # 1 👍, -1 👎, 0 not rated

    @property
    def finished(self) -> bool:
        """Answered, failed or stopped."""
        return self.answer is not None or bool(self.error)


@dataclass
class Conversation:
    """A chat's turns; kept on the server (``gr.State``), never sent by the browser."""

    turns: list[Turn] = field(default_factory=list)
    rated: Turn | None = None  # the answer rated last: a comment goes to its rating

    def history(self) -> list[tuple[str, str]]:
        """(question, answer) pairs of the answered turns, for follow-up questions."""
        return [(t.question, t.answer.answer) for t in self.turns if t.answer is not None]


def thumbs(turns: Sequence[Turn]) -> list[str | None]:
    """The chat's thumb for each answer ("Like", "Dislike" or None), so a new message does not clear them."""
    return [{1: "Like", -1: "Dislike"}.get(t.rating) for t in turns]


def safe_url(url: str) -> str:
    """``url`` when it is an http(s) link, else "" (a ``javascript:`` URL must never become a link)."""
    url = url.strip()
    return url if _SAFE_URL.match(url) else ""


def markers(text: str, turn: int) -> str:
    """Escaped text with each [n] linked to source n of this turn, one block per line."""
    lines = [
        MARKER.sub(
            lambda m: f'<a class="cite" dir="ltr" href="#src-{turn}-{m.group(1)}">[{m.group(1)}]</a>',
            html.escape(line),
        )
        for line in text.splitlines()
        if line.strip()
    ]
    return "".join(f'<div dir="auto">{line}</div>' for line in lines)


def answer_html(answer: Answer, turn: int, footnotes: bool = False) -> str:
    """The answer as a chat message: its text, and which back end wrote it (or that nothing was found).

    ``footnotes``: the cited sentences follow the answer, numbered (the embed has no room for a panel).
    """
    body = markers(answer.answer, turn)
    notice = f'<div class="sanad-notice" dir="auto">{html.escape(answer.notice)}</div>' if answer.notice else ""
    seconds = answer.timings_ms.get("total", 0) / 1000
    if answer.abstained:
        return (
            f'<div class="sanad-msg sanad-notfound" dir="auto">{body}</div>'
            f'<div class="sanad-meta">∅ not found in the articles · {seconds:.1f} s</div>'
        )
    meta = f"{BACKENDS.get(answer.backend, answer.backend)} · {len(answer.citations)} source(s) · {seconds:.1f} s"
    notes = ""
    if footnotes and answer.citations:
        notes = '<div class="sanad-footnotes">' + "".join(citation_html(c, turn, brief=True) for c in answer.citations)
        notes += "</div>"
    return f'{notice}<div class="sanad-msg" dir="auto">{body}</div>{notes}<div class="sanad-meta">{meta}</div>'


def stage(status: Status) -> str:
    """What the answerer is doing, in words."""
    return STAGES.get(status.stage, status.stage).format(n=status.passages, place=status.place)


def streaming_html(text: str, status: str = "") -> str:
    """Answer text while it is being written, or what is being done before its first word."""
    if text:
        return f'<div class="sanad-msg" dir="auto">{html.escape(text)}</div>'
    return f'<div class="sanad-status" dir="auto">{html.escape(status or "…")}</div>'


def error_html(text: str) -> str:
    """An error shown in place of an answer."""
    return f'<div class="sanad-error" dir="auto">{html.escape(text)}</div>'


def feedback_html(text: str, error: bool = False) -> str:
    """What became of a rating or a comment (one short line under the comment box)."""
    kind = "sanad-error" if error else "sanad-meta"
    return f'<div class="{kind}" dir="auto" role="status">{html.escape(text)}</div>' if text else ""


def question_html(question: str) -> str:
    """The asker's message."""
    return f'<div class="sanad-msg" dir="auto">{html.escape(question)}</div>'


def citation_html(c: Citation, turn: int = 0, brief: bool = False) -> str:
    """One source: number, title, date and link, and the passage with the cited sentence marked.

    ``brief``: the cited sentence alone instead of its whole passage (footnotes).
    """
    h = c.hit
    title = html.escape(h.title or h.article_id)
    url = safe_url(h.url)
    link = f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{title}</a>' if url else title
    meta = " · ".join(html.escape(x) for x in (h.source, h.date) if x)
    text = html.escape(h.text)
    if brief and c.quote:
        text = f"<mark>{html.escape(c.quote)}</mark>"
    elif c.quote and c.quote in h.text:
        text = text.replace(html.escape(c.quote), f"<mark>{html.escape(c.quote)}</mark>", 1)
    flag = "" if c.supported else ' <small class="sanad-unsupported">(not confirmed by the checker)</small>'
    return (
        f'<div class="sanad-source" id="src-{turn}-{c.n}"><div dir="auto"><b dir="ltr">[{c.n}]</b> {link}{flag} '
        f'<small>{meta}</small></div><p dir="auto">{text}</p></div>'
    )


def sources_html(turns: Sequence[Turn]) -> str:
    """The sources panel: the cited passages of every answer, newest first."""
    parts = []
    for t in reversed(turns):
        if t.answer is None or not t.answer.citations:
            continue
        parts.append(f'<div class="sanad-turn" dir="auto">{html.escape(t.question)}</div>')
        parts.extend(citation_html(c, t.n) for c in t.answer.citations)
    return "".join(parts) or '<p class="sanad-meta">Sources of the answers appear here.</p>'


def messages(turns: Sequence[Turn], footnotes: bool = False) -> list[dict[str, str]]:
    """The chat's messages for ``turns``: answers, errors, and the text or status of those not finished."""
    out = []
    for t in turns:
        out.append({"role": "user", "content": question_html(t.question)})
        if t.answer is not None:
            out.append({"role": "assistant", "content": answer_html(t.answer, t.n, footnotes)})
        elif t.error:
            out.append({"role": "assistant", "content": error_html(t.error)})
        else:
            out.append({"role": "assistant", "content": streaming_html(t.written, t.status)})
    return out


def article_rows(articles: Sequence[dict]) -> list[list[str]]:
    """Rows of the Articles tab's table: title, source, date, language, passages."""
    return [
        [
            a["title"] or a["article_id"],
            a["source"] or "no source",
            a["date"] or "no date",
            a["lang"] or "?",
            str(a["passages"]),
        ]
        for a in articles
    ]


def article_html(article: dict, deletable: bool) -> str:
    """One article as the Articles tab shows it: its metadata, its passages, and (for admins) a delete form."""
    title = html.escape(article["title"] or article["article_id"])
    url = safe_url(article["url"])
    link = f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{title}</a>' if url else title
    meta = " · ".join(
        html.escape(x)
        for x in (article["source"] or "no source", article["date"], article["lang"], f"id {article['article_id']}")
        if x
    )
    passages = "".join(f'<p dir="auto">{html.escape(p["text"])}</p>' for p in article["passages"])
    form = (
        f'<form class="sanad-delete" data-article="{html.escape(article["article_id"])}">'
        '<label>Admin token <input type="password" name="admin" autocomplete="off" required></label> '
        '<button type="submit">Delete this article</button>'
        '<span class="sanad-delete-status" role="status"></span></form>'
        if deletable
        else ""
    )
    return (
        f'<div class="sanad-article"><h3 dir="auto">{link}</h3><div class="sanad-meta" dir="auto">{meta} · '
        f"{len(article['passages'])} passage(s)</div>{passages}{form}</div>"
    )


def embed_snippets(address: str, token: str, width: int, height: int, wiki: str) -> str:
    """Copy-paste snippets (HTML, MediaWiki widget, Confluence) for framing the embed, as Markdown.

    ``address``: where the wiki's readers reach this server; ``token``: an ask token (never the
    admin token: the wiki's readers can read it); ``wiki``: the wiki's origin, to allow framing.
    """
    address, token, wiki = (re.sub(r"[\s`\"'<>]", "", x or "") for x in (address, token, wiki))
    base = address.rstrip("/") or "https://sanad.example.org"
    origin = wiki.rstrip("/") or "https://wiki.example.org"
    if not _SAFE_URL.match(base) or not _SAFE_URL.match(origin):
        return "Both addresses must start with `http://` or `https://`."
    src = f"{base}/embed/" + (f"#token={token}" if token else "")
    w, h = max(200, min(int(width or 400), 2000)), max(200, min(int(height or 600), 2000))
    frame = (
        f'<iframe src="{html.escape(src)}" width="{w}" height="{h}"\n'
        f'        style="border:1px solid #ddd;border-radius:8px" title="Sanad: ask the articles"></iframe>'
    )
    return (
        f'**1. Allow the wiki to frame Sanad**: start the server with\n\n```sh\nSANAD_EMBED_ORIGINS="{origin}"\n```\n\n'
        f"**Plain HTML page**\n\n```html\n{frame}\n```\n\n"
        "**MediaWiki** (with the Widgets extension): create the page `Widget:Sanad` with\n\n"
        f"```html\n<includeonly>{frame}</includeonly>\n```\n\nand put `{{{{#widget:Sanad}}}}` on any page.\n\n"
        f"**Confluence**: insert the *iframe* macro with URL `{src}`, width {w}, height {h}.\n\n"
        + (
            "Anyone who can read the wiki page can read the token: use an ask token, never the admin token."
            if token.strip()
            else ""
        )
    )
