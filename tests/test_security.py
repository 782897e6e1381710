"""Attacks on a running server, sent as an attacker would send them (real uvicorn, real Gradio, 127.0.0.1).

Each test names the attack it replays; docs/reliability.md has the before/after table. The
server under attack has an ask token and an admin token, and its environment holds both, so a
file read of /proc/self/environ would show them.
"""

import functools
import gzip
import io
import json
import os
import re
import uuid

import httpx
import pytest

from tests.servers import at_once, serve_app
from web import WebConfig

ASK, ADMIN = "ask-token-for-attacks", "admin-token-for-attacks"
AUTH = {"X-Sanad-Token": ASK}
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}
SECRET_FILES = ["/proc/self/environ", "/etc/passwd", "/etc/hostname"]
MOUNTS = ["", "/embed"]


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def chat_history_with_file(path: str) -> list:
    """The chat value of the attack seen on 2026-11-29: a 'message' that is a file on the server."""
    return [{"role": "user", "content": [{"type": "file", "file": file_data(path)}]}]


@pytest.fixture(scope="module")
def server(rated_service, monkeypatch_module):
    """The app under attack, with ratings on: the thumbs and the comment box are handlers too."""
    service = rated_service
    monkeypatch_module.setenv("SANAD_API_TOKEN", ASK)  # what /proc/self/environ would leak
    monkeypatch_module.setenv("SANAD_ADMIN_TOKEN", ADMIN)
    web = WebConfig(api_token=ASK, admin_token=ADMIN, asks_per_minute=0, max_upload_bytes=2_000_000)
    with serve_app(service, web) as url, httpx.Client(base_url=url, timeout=120) as http:
        yield service, http


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def page_config(http: httpx.Client, mount: str = "") -> dict:
    page = http.get(f"{mount}/").text
    start = page.index("window.gradio_config = ") + len("window.gradio_config = ")
    config, _ = json.JSONDecoder().raw_decode(page[start:])
    return config


def run_event(http: httpx.Client, fn_index: int, data: list, mount: str = "", headers: dict | None = None) -> str:
    """Join Gradio's queue as the page does and return everything the event streamed back."""
    headers = AUTH if headers is None else headers
    session = uuid.uuid4().hex[:11]
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}
    joined = http.post(f"{mount}/gradio_api/queue/join", json=body, headers=headers)
    if joined.status_code != 200:
        return f"HTTP {joined.status_code} {joined.text}"
    lines = []
    with http.stream("GET", f"{mount}/gradio_api/queue/data", params={"session_hash": session}, headers=headers) as r:
        for line in r.iter_lines():
            lines.append(line)
            if '"process_completed"' in line or '"close_stream"' in line:
                break
    return "\n".join(lines)


def assert_no_secret(text: str) -> None:
    assert ASK not in text and ADMIN not in text and "root:x:0:0" not in text, text[:500]
    assert "/gradio_api/file=" not in text and "gradio.FileData" not in text, text[:500]


@pytest.mark.parametrize("mount", MOUNTS)
def test_file_read_through_the_chat_value_fails(server, mount):
    """Critical 1: a FileData naming a server file, inside the chat value, via api/chat and queue/join."""
    _, http = server
    payload = {"data": ["hi", chat_history_with_file("/proc/self/environ"), None]}
    for headers in ({}, AUTH):
        r = http.post(f"{mount}/gradio_api/api/chat", json=payload, headers=headers)
        assert r.status_code == 404 and ASK not in r.text
    dependencies = page_config(http, mount)["dependencies"]
    assert dependencies, "the page has handlers"
    for fn_index in range(len(dependencies)):
        for path in SECRET_FILES:
            for data in (
                ["hi", chat_history_with_file(path), None],
                [file_data(path), None],
                [chat_history_with_file(path)],
            ):
                assert_no_secret(run_event(http, fn_index, data, mount))
    for path in SECRET_FILES:
        r = http.get(f"{mount}/gradio_api/file={path}", headers=AUTH)
        assert r.status_code == 404 and ASK not in r.text


def test_no_handler_ingests_a_server_path(server):
    """High 2: a handler opening a path the client names (the old Articles-tab upload)."""
    service, http = server
    before = service.articles(limit=1)["total"]
    for fn_index in range(len(page_config(http)["dependencies"])):
        for data in (["token?", [file_data("/etc/passwd")], "evil"], [[file_data("/etc/passwd")]]):
            assert_no_secret(run_event(http, fn_index, data))
    assert service.articles(limit=1)["total"] == before
    assert http.post("/gradio_api/upload", files={"files": ("x.txt", b"x")}, headers=ADMIN_AUTH).status_code == 404


@pytest.mark.parametrize("mount", MOUNTS)
@pytest.mark.parametrize(
    "method, route",
    [
        ("POST", "/gradio_api/api/chat"),
        ("POST", "/gradio_api/api/false"),
        ("POST", "/gradio_api/run/predict"),
        ("POST", "/gradio_api/call/chat"),
        ("POST", "/gradio_api/call/v2/chat"),
        ("GET", "/gradio_api/info"),
        ("GET", "/config"),
        ("GET", "/gradio_api/openapi.json"),
        ("GET", "/gradio_api/runs"),
        ("GET", "/gradio_api/startup-events"),
        ("GET", "/gradio_api/upload_progress"),
        ("POST", "/gradio_api/process_recording"),
        ("GET", "/gradio_api/proxy=http://127.0.0.1:1/"),
        ("GET", "/monitoring"),
        ("POST", "/gradio_api/vibe-edit"),
        ("POST", "/login"),
    ],
)
def test_gradio_routes_the_page_does_not_use_are_404(server, mount, method, route):
    """High 3: /gradio_api/api/{name} skipped the ask token and the rate limit; every other route is surface."""
    _, http = server
    for headers in ({}, AUTH):
        r = http.request(method, mount + route, json={"data": ["Who controls Baghouz?", None]}, headers=headers)
        assert r.status_code == 404, (route, r.status_code, r.text[:200])


@pytest.mark.parametrize("mount", MOUNTS)
def test_the_page_routes_need_the_ask_token(server, mount):
    _, http = server
    assert http.get(f"{mount}/").status_code == 200  # the page shell carries no data
    body = {"data": ["Who controls Baghouz?", None], "fn_index": 0, "session_hash": "x1"}
    assert http.post(f"{mount}/gradio_api/queue/join", json=body).status_code == 401
    assert http.get(f"{mount}/gradio_api/queue/data", params={"session_hash": "x1"}).status_code == 401
    wrong = {"X-Sanad-Token": "guess"}
    assert http.post(f"{mount}/gradio_api/queue/join", json=body, headers=wrong).status_code == 401


def test_uploads_unauthenticated_and_oversized(server):
    """Medium 4: /gradio_api/upload took unlimited uploads with no token."""
    _, http = server
    big = b"x" * (3 * 1024 * 1024)
    assert http.post("/gradio_api/upload", files={"files": ("big.txt", big)}).status_code == 404
    assert http.post("/gradio_api/upload", files={"files": ("big.txt", big)}, headers=AUTH).status_code == 404
    assert http.post("/api/articles", files={"files": ("a.txt", b"Some text.")}).status_code == 401
    assert http.post("/api/articles", files={"files": ("a.txt", b"Some text.")}, headers=AUTH).status_code == 401
    r = http.post("/api/articles", files={"files": ("big.txt", big)}, headers=ADMIN_AUTH)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_oversized_questions(server):
    """Medium 5: a 64 MB question through queue/join was accepted and echoed."""
    _, http = server
    question = "x" * (64 * 1024 * 1024)
    body = json.dumps({"data": [question, None], "fn_index": 0, "session_hash": "big"}).encode()
    headers = {**AUTH, "Content-Type": "application/json"}
    r = http.post("/gradio_api/queue/join", content=body, headers=headers)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"

    def chunks():  # no Content-Length: the limit still holds
        for i in range(0, len(body), 1 << 20):
            yield body[i : i + (1 << 20)]

    assert http.post("/gradio_api/queue/join", content=chunks(), headers=headers).status_code == 413
    # a long question that fits the body limit is refused by the chat, not echoed back
    config = page_config(http)
    box = {c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "question"}
    chat = next(i for i, d in enumerate(config["dependencies"]) if set(d["inputs"]) & box and len(d["outputs"]) == 4)
    dates = [""] * (len(config["dependencies"][chat]["inputs"]) - 2)  # the chat's date range, left empty
    streamed = run_event(http, chat, ["why? " * 20_000, None, *dates])
    assert "too long" in streamed and "why? why?" not in streamed


def test_spoofed_forwarded_for_does_not_reset_the_rate_limit(service):
    """Medium 6: uvicorn believed X-Forwarded-For from loopback, so a changing header never hit 429."""
    question = {"question": "Who controls Baghouz?"}
    with serve_app(service, WebConfig(asks_per_minute=3)) as url, httpx.Client(base_url=url, timeout=60) as http:
        asks = [
            functools.partial(http.post, "/api/ask", json=question, headers={"X-Forwarded-For": f"10.0.0.{i}"})
            for i in range(5)
        ]
        assert sorted(r.status_code for r in at_once(*asks)) == [200, 200, 200, 429, 429]
    # behind a proxy that is trusted (SANAD_TRUSTED_PROXIES), its header names the client
    web = WebConfig(asks_per_minute=3, trusted_proxies=("127.0.0.1",))
    with serve_app(service, web) as url, httpx.Client(base_url=url, timeout=60) as http:
        asks = [functools.partial(http.post, "/api/ask", json=question, headers={"X-Forwarded-For": "10.0.0.9"})] * 4
        assert sorted(r.status_code for r in at_once(*asks)) == [200, 200, 200, 429]
        assert http.post("/api/ask", json=question, headers={"X-Forwarded-For": "10.0.0.10"}).status_code == 200


def test_tokens_are_never_read_from_urls(server):
    """Medium 7: the ask token travelled in URLs (queue/join?token=, Referer headers)."""
    _, http = server
    assert http.post(f"/api/ask?token={ASK}", json={"question": "Who controls Baghouz?"}).status_code == 401
    body = {"data": ["Who controls Baghouz?", None], "fn_index": 0, "session_hash": "q1"}
    assert http.post(f"/gradio_api/queue/join?token={ASK}", json=body).status_code == 401
    assert http.get("/").headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "url", ["javascript:alert(document.domain)", "JAVASCRIPT:alert(1)", "data:text/html,<b>x", "  javascript:x"]
)
def test_javascript_urls_are_refused_at_ingestion(server, url):
    """Medium 8: article url fields accepted javascript: and became live links."""
    _, http = server
    r = http.post("/api/articles", json={"articles": [{"id": "js", "text": "A text.", "url": url}]}, headers=ADMIN_AUTH)
    assert r.status_code == 422 and "http" in r.json()["rejected"][0]["reason"]
    md = f"---\ntitle: Evil\nurl: '{url}'\n---\nSome body text.\n".encode()
    r = http.post("/api/articles", files={"files": ("evil.md", md)}, headers=ADMIN_AUTH)
    assert r.status_code == 422 and "http" in r.json()["rejected"][0]["reason"]


ALIAS_BOMB = (
    "---\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
    + "title: *i\n---\nBody text of the article.\n"
)


def test_denial_of_service_through_ingested_content(server):
    """Medium 9: alias bomb, oversized metadata, a run of dots, a compressed-record bomb."""
    service, http = server
    upload = lambda name, data: http.post("/api/articles", files={"files": (name, data)}, headers=ADMIN_AUTH)  # noqa: E731
    r = upload("bomb.md", ALIAS_BOMB.encode())  # 9^9 'lol's if expanded
    assert r.status_code == 422 and "aliases" in r.json()["rejected"][0]["reason"]
    records = [
        {"id": "t", "text": "Text.", "title": "T" * 100_000},
        {"id": "u" * 10_000, "text": "Text."},
        {"id": "s", "text": "Text.", "source": "S" * 10_000},
        {"id": "o", "text": "Text.", "title": {"nested": "object"}},
    ]
    r = http.post("/api/articles", json={"articles": records}, headers=ADMIN_AUTH)
    reasons = [x["reason"] for x in r.json()["rejected"]]
    assert r.status_code == 422 and len(reasons) == 4 and all("too long" in x or "string" in x for x in reasons)
    # 1.9 M dots with no space after them: the sentence splitter must stay linear (it took hours)
    dots = ("Start of the article. " + "." * 1_900_000 + "x end.").encode()
    r = upload("dots.txt", dots)
    assert r.status_code == 200 and r.json()["added"] == 1
    # one 16 MB record compressed to a few KB: refused without holding it
    stream = io.BytesIO()
    with gzip.GzipFile(fileobj=stream, mode="wb") as gz:
        gz.write(b'{"id": "bomb", "text": "' + b"a" * (16 * 1024 * 1024) + b'"}\n')
    assert len(stream.getvalue()) < 100_000
    r = upload("bomb.jsonl.gz", stream.getvalue())
    assert r.status_code == 422 and "too large" in r.json()["rejected"][0]["reason"]
    assert http.post("/api/ask", json={"question": "Who controls Baghouz?"}, headers=AUTH).json()["citations"]


def test_errors_reach_the_client_without_exception_text(server):
    """Low 12: show_error sent raw exception text ('NoneType' object has no attribute ...)."""
    _, http = server
    for fn_index in range(len(page_config(http)["dependencies"])):
        streamed = run_event(http, fn_index, [{"unexpected": ["shape"]}, 12, None])
        for leak in ("Traceback", "Error:", "object has no attribute", "Cannot move", "/tmp", 'File "'):
            assert leak not in streamed, (fn_index, streamed[:300])


def test_host_header_must_name_this_server(server):
    """Low 11: DNS rebinding against a local install: the page's own name in the Host header."""
    _, http = server
    for host in ("evil.example", "evil.example:80", "127.0.0.1.nip.io"):
        r = http.get("/", headers={"Host": host})
        assert r.status_code == 400 and r.json()["error"]["code"] == "host_not_allowed"
        assert http.post("/api/ask", json={"question": "Who?"}, headers={**AUTH, "Host": host}).status_code == 400
    port = str(http.base_url.port)
    for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert http.get("/healthz", headers={"Host": host}).status_code == 200, host


def test_wrong_tokens_are_rate_limited(service):
    """Low 12: admin-token guesses were never limited."""
    with serve_app(service, WebConfig(admin_token=ADMIN)) as url, httpx.Client(base_url=url, timeout=60) as http:
        guesses = [
            http.post("/api/articles", json={"articles": []}, headers={"Authorization": f"Bearer guess{i}"}).status_code
            for i in range(12)
        ]
        assert guesses[:10] == [401] * 10 and guesses[10:] == [429, 429]
        # even the right token waits now: otherwise guessing would go on, only slower to read
        assert http.post("/api/articles", json={"articles": []}, headers=ADMIN_AUTH).status_code == 429


def test_other_protocols_and_methods_are_refused(server):
    _, http = server
    for method in ("PUT", "DELETE", "PATCH", "TRACE"):
        assert http.request(method, "/api/ask", headers=AUTH).status_code == 404
    r = http.get("/gradio_api/queue/join", headers={**AUTH, "Connection": "Upgrade", "Upgrade": "websocket"})
    assert r.status_code in (400, 403, 404, 426)


def test_no_server_path_in_what_the_web_shows(server, tmp_path_factory):
    """Low 10: /config carried the index statistics with the server's data path."""
    _, http = server
    listing = http.get("/api/articles", headers=AUTH).json()
    assert "location" not in listing["stats"]
    page = http.get("/").text
    assert not re.search(r"/(tmp|home|root|srv|var)/", page.split("window.gradio_config")[1][:200_000])
    assert os.environ.get("SANAD_DATA_DIR", "?") not in page
