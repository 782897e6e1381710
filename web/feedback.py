"""The 👍/👎 under each answer of the chat and the embed, and the comment a reader may add after rating.

The thumbs are Gradio's own (``Chatbot(feedback_options=...)``): a click sends the index of the
rated message, never the answer itself, so what is stored is the answer the server gave this
conversation (``qa/feedback.py``). Clicking the same thumb again takes the rating back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr

from index.errors import StoreError
from qa.errors import BadRequest, NotFound, classify
from qa.feedback import CHANNELS, MAX_COMMENT_CHARS, RATINGS
from qa.service import Service
from web import render
from web.render import Conversation, Turn

logger = logging.getLogger(__name__)

COMMENT_PLACEHOLDER = "Optional: what was right or wrong? · تعليق اختياري"
Rated = tuple[Any, Any, str, Conversation]


@dataclass
class CommentRow:
    """The comment box, its Send button and the status line under them."""

    row: gr.Row
    box: gr.Textbox
    send: gr.Button
    status: gr.HTML


def comment_row() -> CommentRow:
    """Lay out the comment row (hidden until an answer is rated) and its status line, where they are called."""
    with gr.Row(visible=False, elem_id="feedback-row") as row:
        box = gr.Textbox(
            show_label=False,
            placeholder=COMMENT_PLACEHOLDER,
            elem_id="feedback-comment",
            max_length=MAX_COMMENT_CHARS,
            container=False,  # one line high: the embed has 600 px for everything
            scale=5,
            min_width=120,
        )
        send = gr.Button("Send · أرسل", elem_id="feedback-send", scale=0, min_width=60, size="sm")
    status = gr.HTML("", elem_id="feedback-status", padding=False)
    return CommentRow(row, box, send, status)


def wire(
    comments: CommentRow,
    service: Service,
    channel: str,
    chatbot: gr.Chatbot,
    conversation: gr.State,
    clear: gr.Button,
) -> None:
    """Connect the thumbs of ``chatbot`` and the comment row to the feedback store of ``service``."""

    def liked(conversation: Conversation | None, event: gr.LikeData) -> Rated:
        return rate(service, channel, conversation, event.index, event.liked)

    def commented(text: Any, conversation: Conversation | None) -> tuple[Any, str]:
        return comment(service, text, conversation)

    rated = [chatbot, comments.row, comments.status, conversation]
    chatbot.like(liked, conversation, rated, api_visibility="private", show_progress="hidden")
    gr.on(
        [comments.box.submit, comments.send.click],
        commented,
        [comments.box, conversation],
        [comments.box, comments.status],
        api_visibility="private",
        show_progress="hidden",
    )
    clear.click(lambda: (gr.update(visible=False), ""), None, [comments.row, comments.status], api_visibility="private")


def index_version(service: Service) -> str:
    """The index revision an answer came from, kept with its rating ("" when nothing is rated here)."""
    if service.feedback is None:
        return ""
    try:
        return service.index_version()
    except StoreError as e:  # the answer stands; only its rating will lack the revision
        logger.warning("The index revision is unknown (%s); a rating of this answer will not name it", e)
        return ""


def rate(service: Service, channel: str, conversation: Conversation | None, index: Any, liked: Any) -> Rated:
    """Store the 👍 (``liked`` True) or 👎 (False) given to the answer at message ``index``; else take it back.

    Returns (chat thumbs, comment panel, status line, conversation): the comment panel shows once an
    answer is rated.
    """
    conversation = conversation or Conversation()
    turn = _turn_at(conversation, index)
    if turn is None or turn.answer is None:
        # the click lit a thumb: put it out
        return (
            _thumbs(conversation),
            gr.skip(),
            render.feedback_html("Only finished answers can be rated."),
            conversation,
        )
    store = service.feedback
    try:
        if store is None:
            raise BadRequest("This server does not keep ratings.")
        if liked is not True and liked is not False:  # the thumb was clicked again: taken back
            if turn.feedback_id is not None:
                store.delete(turn.feedback_id)
            turn.feedback_id, turn.rating = None, 0
            if conversation.rated is turn:
                conversation.rated = None
            return _thumbs(conversation), gr.update(visible=False), "", conversation
        rating = RATINGS["up" if liked else "down"]
        channel_name = channel if channel in CHANNELS else "chat"
        if turn.feedback_id is None:
            turn.feedback_id = store.record(turn.answer, rating, turn.index_version, channel_name)
        else:
            try:
                store.rate(turn.feedback_id, rating)
            except NotFound:  # the store lost it (reset, or deleted by hand): rate it anew
                turn.feedback_id = store.record(turn.answer, rating, turn.index_version, channel_name)
        turn.rating = rating
    except Exception as e:
        problem = classify(e)
        if problem.unexpected:
            logger.exception("Storing a rating failed")
        return _thumbs(conversation), gr.skip(), render.feedback_html(problem.message, error=True), conversation
    conversation.rated = turn
    thanks = "Thanks — saved. A comment? · شكراً، حُفظ تقييمك"
    return _thumbs(conversation), gr.update(visible=True), render.feedback_html(thanks), conversation


def _thumbs(conversation: Conversation) -> Any:
    return gr.update(feedback_value=render.thumbs(conversation.turns))


def comment(service: Service, text: Any, conversation: Conversation | None) -> tuple[Any, str]:
    """Attach the comment to the answer rated last; returns (comment box, status line).

    The box is emptied only once the comment is stored: a refused one stays to be corrected.
    """
    conversation = conversation or Conversation()
    turn = conversation.rated
    try:
        if service.feedback is None or turn is None or turn.feedback_id is None:
            raise BadRequest("Rate an answer first (👍 or 👎), then add a comment.")
        service.feedback.add_comment(turn.feedback_id, text if isinstance(text, str) else "")
    except Exception as e:
        problem = classify(e)
        if problem.unexpected:
            logger.exception("Storing a comment failed")
        return gr.skip(), render.feedback_html(problem.message, error=True)
    return "", render.feedback_html("Thanks — saved. · شكراً، حُفظ تعليقك")


def _turn_at(conversation: Conversation, index: Any) -> Turn | None:
    """The turn whose answer is message ``index`` of the chat (messages are [question, answer] per turn)."""
    if isinstance(index, list | tuple):
        index = index[0] if index else None
    if not isinstance(index, int) or isinstance(index, bool) or index < 1 or index % 2 == 0:
        return None
    n = index // 2
    return conversation.turns[n] if n < len(conversation.turns) else None
