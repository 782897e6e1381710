"""Fakes that implement the real interfaces, for tests where ranking must be predictable."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.outputs import ChatGenerationChunk


class KeywordEmbeddings(Embeddings):
    """One dimension per vocabulary word: a text's vector counts the words it contains.

    Implements what ``DenseStore`` uses of ``Encoder``.
    """

    def __init__(self, vocabulary: list[str], name: str = "keyword-fake"):
        self.vocabulary = vocabulary
        self.name = name
        self.dimension = len(vocabulary) + 1  # the last dimension keeps empty texts non-zero
        self.batch_size = 8

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            words = text.lower().split()
            row = np.array([words.count(w) for w in self.vocabulary] + [0.1], np.float32)
            rows.append(row / np.linalg.norm(row))
        return np.array(rows, np.float32).reshape(len(texts), self.dimension)

    encode_queries = encode_sentences = encode_passages

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_queries([text])[0].tolist()

    def fingerprint(self) -> list[float]:
        return [round(float(x), 4) for x in self.encode_passages([" ".join(self.vocabulary)])[0]]


class FakeOpenAIServer:
    """An OpenAI-compatible chat server on 127.0.0.1 that replies with canned texts, streaming.

    Stands in for a hosted model at the HTTP edge: the real ``ChatOpenAI`` client talks to it.
    A reply is a text, or a function of the last user message that returns one. ``delay``
    seconds pass before the first byte (to exercise timeouts); clearing ``gate`` holds every reply
    until it is set again (at most a minute), so a test decides when the model answers instead of
    racing a clock. ``requests`` records every request body. With ``p_found``, a request that asks
    for log-probabilities gets them for the token that says ``true`` or ``false`` after
    ``"found":`` (that probability for true).
    """

    def __init__(self, replies: list[str], delay: float = 0.0, p_found: float | None = None):
        import json
        import math
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.replies = list(replies)
        self.requests: list[dict] = []
        self.gate = threading.Event()
        self.gate.set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                time.sleep(delay)
                fake.gate.wait(60)
                reply = fake.replies.pop(0) if fake.replies else "..."
                if callable(reply):  # a reply that depends on the prompt (e.g. which sentence is numbered what)
                    reply = reply(body["messages"][-1]["content"])
                self.send_response(200)
                if not body.get("stream"):
                    payload = {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "fake"),
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
                        ],
                    }
                    data = json.dumps(payload).encode()
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                logprobs = p_found is not None and body.get("logprobs")
                for piece in re.split(r'(?<="found": )(true|false)', reply):
                    for i in range(0, len(piece), 4):
                        choice = {"index": 0, "delta": {"content": piece[i : i + 4]}, "finish_reason": None}
                        if logprobs:  # every token has them, as a real server sends
                            token = {"token": piece[i : i + 4], "logprob": 0.0}
                            if piece in ("true", "false"):
                                top = [
                                    {"token": "true", "logprob": math.log(p_found)},
                                    {"token": "false", "logprob": math.log(1 - p_found)},
                                ]
                                token = {**top[piece == "false"], "top_logprobs": top}
                            choice["logprobs"] = {"content": [token]}
                        chunk = {
                            "id": "x",
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": body.get("model", "fake"),
                            "choices": [choice],
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class FailingChatModel(FakeListChatModel):
    """A LangChain chat model that streams a few words and then raises ``error`` (as a client library would)."""

    responses: list[str] = ["The answer is"]
    error: Exception

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        yield from super()._stream(*args, **kwargs)
        raise self.error


def citing(words: str, answer: str, found: bool = True, quote: str | None = None) -> Callable[[str], str]:
    """A reply naming the evidence sentence that contains ``words`` and copying ``quote`` (default: ``words``)."""

    def reply(prompt: str) -> str:
        numbers = [int(n) for n, text in re.findall(r"^\[(\d+)\][^\n]*?(.*)$", prompt, re.M) if words in text]
        fields = {"found": found, "evidence": numbers[:1], "quote": words if quote is None else quote, "answer": answer}
        return json.dumps(fields, ensure_ascii=False)

    return reply
