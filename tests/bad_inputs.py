"""The bad-input cases: each input, what it must be answered with, and a runner against a live server.

Used by tests/test_bad_input.py (in `make test`) and bench/bad_input.py (the table in
docs/reliability.md). Questions go to /api/ask, files and records to /api/articles with the
admin token; after every case the index must hold at least what it held before, and a known
question must still be answered.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

ADMIN = "bad-input-admin"
CANARY = {"question": "من يسيطر على الباغوز؟"}
TEXT = "The port of Mombasa handles most of Kenya's trade. It is the busiest port in East Africa."


@dataclass(frozen=True)
class Case:
    """One bad input, what to send, and what must come back."""

    name: str
    send: Callable[[httpx.Client], httpx.Response]
    status: int
    says: str = ""  # a fragment the error message (or the answer JSON) must contain


def ask(body: Any, **kw: Any) -> Callable[[httpx.Client], httpx.Response]:
    """Send ``body`` as JSON to /api/ask."""
    return lambda http: http.post("/api/ask", json=body, **kw)


def ask_raw(content: bytes, kind: str = "application/json") -> Callable[[httpx.Client], httpx.Response]:
    """Send raw bytes to /api/ask."""
    return lambda http: http.post("/api/ask", content=content, headers={"Content-Type": kind})


def upload(*files: tuple[str, bytes], token: str = ADMIN) -> Callable[[httpx.Client], httpx.Response]:
    """Upload files to /api/articles."""
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return lambda http: http.post("/api/articles", files=parts, headers=headers)


def records(body: Any, token: str = ADMIN) -> Callable[[httpx.Client], httpx.Response]:
    """Send JSON records to /api/articles."""
    return lambda http: http.post("/api/articles", json=body, headers={"Authorization": f"Bearer {token}"})


def _gz(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as f:
        f.write(data)
    return buffer.getvalue()


def _jsonl(*rows: Any) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows).encode()


CASES = [
    Case("empty question", ask({"question": ""}), 400, "empty"),
    Case("white space only", ask({"question": " \n\t "}), 400, "empty"),
    Case("control characters only", ask({"question": "\x00\x01\x07"}), 400, "empty"),
    Case("control characters around a question", ask({"question": "\x00Who controls Baghouz?\x07"}), 200, "citations"),
    Case("2,500-character question", ask({"question": "why " * 625}), 400, "too long"),
    Case("100 KB question", ask({"question": "x" * 100_000}), 422, "at most"),
    Case("1 MB request body", ask({"question": "x" * 1_000_000}), 413, "larger than"),
    Case("mixed Arabic and English", ask({"question": "Who يسيطر على Baghouz?"}), 200, "citations"),
    Case("emoji only", ask({"question": "🔥🔥🔥"}), 200, '"abstained"'),
    Case("language with no articles (Chinese)", ask({"question": "谁控制着巴古兹？"}), 200, '"answer"'),
    Case("right-to-left override characters", ask({"question": "\u202eWho controls Baghouz?\u202c"}), 200, "answer"),
    Case("SQL in the question", ask({"question": "'; DROP TABLE passages; --"}), 200, "answer"),
    Case("not JSON", ask_raw(b"{question: oops"), 422, "JSON"),
    Case("JSON list instead of object", ask([1, 2]), 422, "object"),
    Case("question is null", ask({"question": None}), 422, "question"),
    Case("unknown field", ask({"question": "Who?", "colour": "red"}), 422, "colour"),
    Case("k out of range", ask({"question": "Who?", "k": 1000}), 422, "k"),
    Case("malformed date filter", ask({"question": "Who?", "filters": {"date_from": "yesterday"}}), 400, "date_from"),
    Case("200 turns of history", ask({"question": "Who?", "history": [{"question": "q"}] * 200}), 422, "history"),
    Case("form data instead of JSON", ask_raw(b"question=Who", "application/x-www-form-urlencoded"), 422, ""),
    Case("upload without token", upload(("a.txt", TEXT.encode()), token=""), 401, "admin token"),
    Case("upload with a wrong token", upload(("a.txt", TEXT.encode()), token="guess"), 401, "admin token"),
    Case("binary file named .txt", upload(("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00" * 100)), 422, "binary"),
    Case("invalid UTF-8 (random bytes)", upload(("noise.txt", bytes(range(128, 256)) * 20)), 422, "rejected"),
    Case(
        "cp1256 Arabic text",
        upload(("cp1256.txt", "ميناء جدة هو أكبر موانئ البحر الأحمر.".encode("cp1256"))),
        200,
        '"added":1',
    ),
    Case(
        "UTF-16 text with BOM", upload(("utf16.txt", codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"))), 200, '"added":1'
    ),
    Case("empty .jsonl", upload(("empty.jsonl", b"\n\n")), 422, "no records"),
    Case(
        "JSONL: missing text, bad line, good record",
        upload(("mixed.jsonl", _jsonl({"title": "no text"}, "{broken", {"id": "bi-good", "text": TEXT + " Mixed."}))),
        200,
        "has no 'text'",
    ),
    Case(
        "JSONL: duplicated ids",
        upload(("dups.jsonl", _jsonl({"id": "bi-dup", "text": "First text."}, {"id": "bi-dup", "text": "Second."}))),
        200,
        "already used",
    ),
    Case("gzip bomb-lite (100 MB of zeros)", upload(("bomb.jsonl.gz", _gz(b"0" * 100_000_000))), 422, "too large"),
    Case("corrupt gzip", upload(("broken.jsonl.gz", b"\x1f\x8b\x08\x00garbage")), 422, "gzip"),
    Case("51 MB upload", upload(("huge.txt", b"word " * 10_700_000)), 413, "larger than"),
    Case("path traversal file name", upload(("../../../../tmp/evil.txt", TEXT.encode())), 200, "unchanged"),
    Case("unsupported file type", upload(("report.pdf", b"%PDF-1.7 ...")), 422, "unsupported"),
    Case(
        "HTML with scripts",
        upload(("page.html", b"<html><script>alert(1)</script><p>" + TEXT.encode() + b" HTML.</p></html>")),
        200,
        '"added":1',
    ),
    Case(
        "multipart without files",
        lambda http: http.post(
            "/api/articles", files={"source": (None, "x")}, headers={"Authorization": f"Bearer {ADMIN}"}
        ),
        400,
        "no files",
    ),
    Case("records: not a list", records({"articles": "nope"}), 422, "articles"),
    Case("records: text is a number", records({"articles": [{"id": "bi-num", "text": 42}]}), 422, "has no 'text'"),
    Case("records: empty list", records({"articles": []}), 400, "no articles"),
    Case(
        "wrong content type for upload",
        lambda http: http.post(
            "/api/articles", content=b"x", headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "text/plain"}
        ),
        415,
        "multipart",
    ),
]


def run(http: httpx.Client) -> list[dict[str, Any]]:
    """Send every case; after each, check nothing indexed was lost and answering still works."""
    results = []
    before = http.get("/api/articles", params={"limit": 1}).json()["stats"]["passages"]
    for case in CASES:
        response = case.send(http)
        body = response.text
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = body[:160]
        after = http.get("/api/articles", params={"limit": 1}).json()["stats"]["passages"]
        canary = http.post("/api/ask", json=CANARY)
        results.append(
            {
                "case": case.name,
                "expected": case.status,
                "status": response.status_code,
                "message": message,
                "ok": response.status_code == case.status and case.says in body,
                "kept": after >= before,
                "still_answers": canary.status_code == 200 and bool(canary.json()["citations"]),
            }
        )
        before = max(before, after)
    return results
