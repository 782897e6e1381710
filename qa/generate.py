"""LLM answer writing through LangChain's chat-model interface (``ChatOpenAI`` in production).

The model reads only the best evidence sentences, grouped by passage and numbered like the
citations, and is asked for a one- or two-sentence answer in the question's language.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from prompts import message, render
from qa.errors import ModelFailed
from qa.evidence import Sentence
from qa.types import Hit


@dataclass
class Generator:
    """A chat model and the name of the back end it stands for (``local``, ``openai``)."""

    chat: BaseChatModel
    backend: str
    server: Any = None  # an in-process model server this generator keeps alive

    def stream(self, messages: list[Any]) -> Iterator[str]:
        """The model's reply, piece by piece.

        Raises :class:`ModelFailed` when the server cannot be reached, answers with an error or
        is slower than the timeout; any other exception is a bug and propagates as it is.
        """
        import httpx
        import openai  # here, not at the top: `sanad stats` and the like never need the client library

        try:
            for chunk in self.chat.stream(messages):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    yield text
        except (openai.APIError, httpx.HTTPError) as e:
            raise ModelFailed(_reason(e)) from e


def _reason(e: Exception) -> str:
    import httpx
    import openai

    if isinstance(e, openai.APITimeoutError | httpx.TimeoutException):
        return "timed out"
    if isinstance(e, openai.APIConnectionError | httpx.TransportError):
        return "unreachable"
    return f"{type(e).__name__}: {e}"[:200]


def chat_model(base_url: str, model: str, api_key: str, timeout: float, max_tokens: int = 200) -> BaseChatModel:
    """An OpenAI-compatible chat model (vLLM, llama.cpp server, Ollama, OpenAI, xllamacpp)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key or "not-needed",  # local servers accept any key
        timeout=timeout,
        max_retries=0,  # a retry would double the wait before the extractive fallback
        temperature=0.0,
        max_tokens=max_tokens,
        streaming=True,
    )


def evidence_items(chosen: list[Sentence], hits: list[Hit]) -> tuple[list[dict[str, Any]], list[int]]:
    """Prompt items, one per passage (its chosen sentences in text order), and the hit index of each number."""
    by_hit: dict[int, list[Sentence]] = {}
    for e in chosen:
        by_hit.setdefault(e.hit_index, []).append(e)
    order = list(by_hit)
    items = []
    for n, i in enumerate(order, 1):
        sentences = sorted(by_hit[i], key=lambda e: e.start)
        text = " ".join(e.text for e in sentences)
        items.append({"n": n, "title": hits[i].title, "date": hits[i].date, "text": text})
    return items, order


def messages_for(question: str, lang: str, items: list[dict[str, Any]]) -> list[Any]:
    """System and user messages of the answer prompt."""
    language = message("language_name", lang)
    variables = {"language": language, "not_found": message("not_found", lang), "evidence": items, "question": question}
    return [
        SystemMessage(render("answer", "system", **variables)),
        HumanMessage(render("answer", "human", **variables)),
    ]
