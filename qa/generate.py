"""LLM answer writing through LangChain's chat-model interface (``ChatOpenAI`` for every server).

The model reads numbered evidence sentences and replies with one JSON object constrained by
:data:`REPLY_SCHEMA` (llama.cpp, vLLM, Ollama and OpenAI all take ``response_format`` with a JSON
schema): whether the evidence states the answer, which sentences state it, the words of the
answer copied from them (in the evidence's language), and the short answer in the question's
language. Copying before translating ties a small model's answer to words the articles
contain, and the copy can be checked verbatim. Refusing, citing and copying are fields,
checked in code (``qa/citations.py``), not prose to parse. The token that says ``true`` or
``false`` comes with its log-probabilities, so :class:`Reply` also knows how sure the model
was. A fixed prefix (system message and worked examples) keeps the server's prompt cache warm,
so only the evidence and the question are processed per answer.
"""

from __future__ import annotations

import collections.abc
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from prompts import load, message, render
from qa.errors import ModelFailed
from qa.types import Hit, Sentence

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "found": {"type": "boolean"},
        "evidence": {"type": "array", "items": {"type": "integer"}, "maxItems": 6},
        "quote": {"type": "string", "maxLength": 300},
        "answer": {"type": "string", "maxLength": 300},
    },
    "required": ["found", "evidence", "quote", "answer"],
    "additionalProperties": False,
}


@dataclass
class Generator:
    """A chat model and the name of the back end it stands for (``local``, ``openai``)."""

    chat: BaseChatModel
    backend: str
    server: Any = None  # an in-process model server this generator keeps alive
    structured: bool = True  # ask for REPLY_SCHEMA (and log-probabilities)
    steady: BaseChatModel | None = None  # the same model on one thread: used while the machine is busy
    steady_server: Any = None
    min_p_found: float = 0.0  # refuse when the model is less sure than this that the evidence answers

    def stream(
        self, messages: list[BaseMessage], busy: bool = False
    ) -> collections.abc.Generator[tuple[str, list[dict[str, Any]]], None, None]:
        """The model's reply, piece by piece, with the log-probabilities of each piece's tokens (when given).

        ``busy``: other work runs on the machine; the steady one-thread model (if any) writes.
        Raises :class:`ModelFailed` when the server cannot be reached, answers with an error or
        is slower than the timeout; any other exception is a bug and propagates as it is.
        """
        import httpx
        import openai  # here, not at the top: `sanad stats` and the like never need the client library

        model: Any = self.steady if busy and self.steady is not None else self.chat
        if self.structured:
            schema = {"type": "json_schema", "json_schema": {"name": "answer", "schema": REPLY_SCHEMA}}
            model = model.bind(logprobs=True, top_logprobs=5, extra_body={"response_format": schema})
        try:
            for chunk in model.stream(messages):
                text = chunk.content if isinstance(chunk.content, str) else ""
                logprobs = (chunk.response_metadata.get("logprobs") or {}).get("content") or []
                if text or logprobs:
                    yield text, logprobs
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


_ANSWER_START = re.compile(r'"answer"\s*:\s*"')


@dataclass
class Reply:
    """The model's JSON reply while it streams: the answer text so far, then the parsed fields."""

    raw: str = ""
    p_found: float | None = None  # the model's probability that the evidence answers (from log-probabilities)
    _shown: int = 0  # characters of the answer text already handed out
    _tokens: list[dict[str, Any]] = field(default_factory=list)

    def feed(self, text: str, logprobs: list[dict[str, Any]]) -> str:
        """Take the next piece; returns the answer text that became readable with it."""
        self.raw += text
        self._tokens += logprobs
        if self.p_found is None:
            self.p_found = _p_found(self._tokens)
        start = _ANSWER_START.search(self.raw)
        if start is None:
            return ""
        readable = _readable_string(self.raw[start.end() :])
        new, self._shown = readable[self._shown :], len(readable)
        return new

    def named(self) -> list[int]:
        """The evidence numbers the reply has named so far (they come before the answer)."""
        m = _EVIDENCE.search(self.raw)
        return [int(n) for n in re.findall(r"\d+", m.group(1))] if m else []

    def fields(self) -> dict[str, Any] | None:
        """The parsed reply, or None when it is not the JSON object asked for."""
        try:
            reply = json.loads(self.raw)
        except ValueError:
            return None
        if not isinstance(reply, dict) or not isinstance(reply.get("found"), bool):
            return None
        answer, numbers, quote = reply.get("answer"), reply.get("evidence"), reply.get("quote", "")
        if not isinstance(answer, str) or not isinstance(numbers, list) or not isinstance(quote, str):
            return None
        evidence = [n for n in numbers if type(n) is int]
        return {"found": reply["found"], "evidence": evidence, "quote": quote.strip(), "answer": answer.strip()}


_EVIDENCE = re.compile(r'"evidence"\s*:\s*\[([\d,\s]*)\]')


def _readable_string(text: str) -> str:
    """The decoded prefix of a JSON string's body (up to its closing quote, if it came)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == '"':
            break
        if c == "\\":
            if i + 1 >= len(text):
                break
            try:
                end = i + 6 if text[i + 1] == "u" else i + 2
                if end > len(text):
                    break
                out.append(json.loads(f'"{text[i:end]}"'))
            except ValueError:
                pass
            i = end
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _p_found(tokens: list[dict[str, Any]]) -> float | None:
    """P(true) against P(false) at the token that chose the value of ``found``."""
    text = ""
    for token in tokens:
        if re.search(r'"found"\s*:\s*$', text) and token.get("token", "").strip() in ("true", "false"):
            odds = {"true": -math.inf, "false": -math.inf}
            for alt in token.get("top_logprobs") or [token]:
                word = alt.get("token", "").strip()
                if word in odds:
                    odds[word] = max(odds[word], float(alt.get("logprob", -math.inf)))
            t, f = math.exp(odds["true"]), math.exp(odds["false"])
            return t / (t + f) if t + f > 0 else None
        text += token.get("token", "")
    return None


def evidence_items(chosen: list[Sentence], hits: list[Hit]) -> list[dict[str, Any]]:
    """Prompt items: the chosen sentences numbered 1..m, each with its article's source and date."""
    return [
        {"n": n, "source": hits[s.hit_index].source, "date": hits[s.hit_index].date, "text": s.text}
        for n, s in enumerate(chosen, 1)
    ]


def messages_for(question: str, lang: str, items: list[dict[str, Any]]) -> list[BaseMessage]:
    """The answer prompt: the system message and worked examples (a fixed prefix), then this question."""
    language = message("language_name", lang)
    messages: list[BaseMessage] = [SystemMessage(render("answer", "system", language="the question's language"))]
    for example in load("answer")["examples"]:
        example_vars = {k: example[k] for k in ("language", "evidence", "question")}
        messages += [HumanMessage(render("answer", "human", **example_vars)), AIMessage(example["reply"])]
    messages.append(HumanMessage(render("answer", "human", language=language, evidence=items, question=question)))
    return messages
