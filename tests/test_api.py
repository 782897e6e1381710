"""The JSON API, against the whole app (API + Gradio) served by uvicorn on 127.0.0.1."""

import functools
import json

import httpx
import pytest

from tests.conftest import TOWN
from tests.servers import at_once, serve_app
from web import WebConfig

ASK, ADMIN, WIKI = "ask-secret", "admin-secret", "http://wiki.example.org"
AUTH = {"Authorization": f"Bearer {ASK}"}


@pytest.fixture(scope="module")
def base(service):
    web = WebConfig(api_token=ASK, admin_token=ADMIN, embed_origins=(WIKI,), max_upload_bytes=200_000)
    with serve_app(service, web) as url:
        yield url


@pytest.fixture(scope="module")
def http(base):
    with httpx.Client(base_url=base, timeout=120) as client:
        yield client


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]


def test_health_and_readiness(http):
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["passages"] > 0 and ready.json()["backend"] == "extractive"


@pytest.mark.parametrize("question, lang", [("Who controls Baghouz?", "en"), ("من يسيطر على الباغوز؟", "ar")])
def test_ask_returns_the_structured_answer(http, question, lang):
    r = http.post("/api/ask", json={"question": question}, headers=AUTH)
    assert r.status_code == 200, r.text
    a = r.json()
    assert set(a) >= {"question", "answer", "language", "abstained", "backend", "citations", "timings_ms"}
    assert a["language"] == lang and not a["abstained"] and a["backend"] == "extractive"
    assert "[1]" in a["answer"] and a["citations"][0]["n"] == 1
    c = a["citations"][0]
    assert set(c) >= {"n", "article_id", "title", "source", "url", "date", "text", "start", "end", "score", "supported"}
    assert any(TOWN in x["text"] for x in a["citations"])
    assert set(a["timings_ms"]) >= {"retrieve", "generate", "total"}


def test_ask_needs_the_token_when_one_is_set(http):
    assert error_of(http.post("/api/ask", json={"question": "x?"}))["code"] == "unauthorized"
    r = http.post("/api/ask", json={"question": "x?"}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    # tokens travel in headers only: a URL ends up in logs and Referer headers
    assert http.post(f"/api/ask?token={ASK}", json={"question": "Who controls Baghouz?"}).status_code == 401
    assert http.post("/api/ask", json={"question": "Who controls Baghouz?"}, headers={"X-Sanad-Token": ASK}).is_success
    # the admin token may ask too
    assert http.post("/api/ask", json={"question": "Who?"}, headers={"Authorization": f"Bearer {ADMIN}"}).is_success


@pytest.mark.parametrize(
    "body, status, code, says",
    [
        ({"question": "   "}, 400, "bad_request", "empty"),
        ({"question": "why " * 600}, 400, "bad_request", "too long"),
        ({}, 422, "invalid_request", "question"),
        ({"question": 42}, 422, "invalid_request", "question"),
        ({"question": "Who?", "k": 0}, 422, "invalid_request", "k"),
        ({"question": "Who?", "k": 500}, 422, "invalid_request", "k"),
        ({"question": "Who?", "surprise": 1}, 422, "invalid_request", "surprise"),
        ({"question": "Who?", "history": "not a list"}, 422, "invalid_request", "history"),
        ({"question": "Who?", "filters": {"date_from": "last week"}}, 400, "bad_request", "date_from"),
        ({"question": "Who?", "filters": {"colour": "red"}}, 422, "invalid_request", "colour"),
    ],
)
def test_bad_questions_get_a_json_error(http, body, status, code, says):
    r = http.post("/api/ask", json=body, headers=AUTH)
    assert r.status_code == status, r.text
    error = error_of(r)
    assert error["code"] == code and says in error["message"]


def test_malformed_and_oversized_bodies(http):
    r = http.post("/api/ask", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_request"
    r = http.post("/api/ask", json={"question": "x" * 300_000}, headers=AUTH)
    assert r.status_code == 413 and error_of(r)["code"] == "too_large"

    def chunks():  # no Content-Length: the limit still holds
        for _ in range(40):
            yield b"x" * 10_000

    r = http.post("/api/ask", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 413


def test_filters_reach_retrieval(http):
    ask = {"question": "Who controls Baghouz?", "filters": {"languages": ["en"]}}
    a = http.post("/api/ask", json=ask, headers=AUTH).json()
    assert not any(TOWN in c["text"] for c in a["citations"])  # the Arabic seed article is filtered out
    ask["filters"] = {"date_from": "2018-12", "date_to": "2018-12-31"}
    a = http.post("/api/ask", json=ask, headers=AUTH).json()
    assert a["citations"] and all(c["date"].startswith("2018-12") for c in a["citations"])
    ask["filters"] = {"date_to": "2001"}
    assert http.post("/api/ask", json=ask, headers=AUTH).json()["abstained"] is True


def test_follow_up_uses_the_history(http):
    history = [{"question": "Who controls Baghouz?", "answer": "..."}]
    a = http.post("/api/ask", json={"question": "And who shelled it?", "history": history}, headers=AUTH).json()
    assert not a["abstained"] and any("قصف" in c["text"] for c in a["citations"])


def events(text: str) -> list[tuple[str, dict]]:
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_stream_sends_status_tokens_then_the_answer(http):
    with http.stream("POST", "/api/ask/stream", json={"question": "من يسيطر على الباغوز؟"}, headers=AUTH) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = r.read().decode()
    got = events(body)
    kinds = [e for e, _ in got]
    assert kinds[:2] == ["status", "status"] and [d["stage"] for _, d in got[:2]] == ["searching", "reading"]
    assert set(kinds[2:-1]) == {"token"} and kinds[-1] == "answer"
    streamed = "".join(d["text"] for e, d in got if e == "token")
    assert streamed == got[-1][1]["answer"] and got[-1][1]["citations"]


def test_stream_reports_errors_as_json(http):
    r = http.post("/api/ask/stream", json={"question": ""}, headers=AUTH)
    assert r.status_code == 200
    ((event, data),) = events(r.text)
    assert event == "error" and data["error"]["code"] == "bad_request"
    r = http.post("/api/ask/stream", json={"question": "Who?", "filters": {"date_to": "soon"}}, headers=AUTH)
    assert r.status_code == 400  # bad filters fail before the stream starts


def test_articles_listing(http):
    r = http.get("/api/articles", headers=AUTH, params={"limit": 2})
    body = r.json()
    assert r.status_code == 200 and body["total"] >= 4 and len(body["articles"]) == 2
    assert body["stats"]["passages"] > 0 and body["stats"]["embedding_model"]
    assert "location" not in body["stats"]  # where the index lives on the server is not for the web
    assert {"article_id", "title", "date", "source", "url", "lang", "passages"} <= set(body["articles"][0])
    assert http.get("/api/articles").status_code == 401
    assert http.get("/api/articles", headers=AUTH, params={"limit": 0}).status_code == 422


def test_articles_search_read_and_delete(http, service):
    admin = {"Authorization": f"Bearer {ADMIN}"}
    records = [
        {
            "id": "del/me 1",
            "title": "مؤتمر الطاقة في الرياض",
            "text": "افتُتح مؤتمر الطاقة اليوم بحضور الوزراء.",
            "source": "wire",
        },
        {"id": "keep-2", "title": "Harbour works", "text": "The harbour works start in May. They last a year."},
    ]
    assert http.post("/api/articles", json={"articles": records}, headers=admin).json()["added"] == 2
    found = http.get("/api/articles", headers=AUTH, params={"q": "مؤتمر الطاقه"}).json()  # ة and ه fold together
    assert found["total"] == 1 and found["articles"][0]["article_id"] == "del/me 1"
    assert http.get("/api/articles", headers=AUTH, params={"q": "HARBOUR"}).json()["total"] == 1
    article = http.get("/api/articles/del/me 1", headers=AUTH).json()
    assert article["title"] == "مؤتمر الطاقة في الرياض" and article["source"] == "wire"
    assert article["passages"][0]["text"].startswith("افتُتح") and article["passages"][0]["start"] == 0
    assert http.delete("/api/articles/del/me 1", headers=AUTH).status_code == 401  # the ask token is not enough
    assert http.delete("/api/articles/del/me 1").status_code == 401
    r = http.delete("/api/articles/del/me 1", headers=admin)
    assert r.status_code == 200 and r.json()["passages_deleted"] == 1
    assert error_of(http.get("/api/articles/del/me 1", headers=AUTH))["code"] == "not_found"
    assert http.delete("/api/articles/del/me 1", headers=admin).status_code == 404
    assert http.get("/api/articles", headers=AUTH, params={"q": "مؤتمر"}).json()["total"] == 0
    # gone from both legs: no question finds it, whether by words (BM25) or by meaning
    assert not any(
        "مؤتمر الطاقة" in c["text"]
        for c in http.post("/api/ask", json={"question": "مؤتمر الطاقة في الرياض"}, headers=AUTH).json()["citations"]
    )
    assert service.index.lexical.count() == service.index.count()
    assert http.delete("/api/articles/keep-2", headers=admin).status_code == 200


def test_upload_needs_the_admin_token(http):
    records = {"articles": [{"title": "t", "text": "Some text."}]}
    assert http.post("/api/articles", json=records).status_code == 401
    assert http.post("/api/articles", json=records, headers=AUTH).status_code == 401  # the ask token is not enough


def test_upload_json_records_then_again(http):
    admin = {"Authorization": f"Bearer {ADMIN}"}
    record = {
        "id": "api-lighthouse",
        "title": "The lighthouse of Alexandria",
        "text": "The lighthouse of Alexandria was built by the Ptolemaic Kingdom. It stood for centuries.",
        "date": "2020-01-02",
        "lang": "en",
        "source": "api-test",
    }
    r = http.post("/api/articles", json={"articles": [record]}, headers=admin)
    assert r.status_code == 200 and r.json()["added"] == 1 and r.json()["passages_written"] >= 1, r.text
    again = http.post("/api/articles", json={"articles": [record]}, headers=admin).json()
    assert r.json()["sentences_written"] == 2  # the article's two sentences, stored for re-ranking
    assert (
        again["added"] == 0 and again["unchanged"] == 1 and again["passages_written"] == again["sentences_written"] == 0
    )
    a = http.post(
        "/api/ask",
        json={"question": "Who built the lighthouse of Alexandria?", "filters": {"sources": ["api-test"]}},
        headers=AUTH,
    ).json()
    assert a["citations"] and a["citations"][0]["article_id"] == "api-lighthouse"


def test_upload_files_reports_what_it_rejected(http):
    admin = {"Authorization": f"Bearer {ADMIN}"}
    files = [
        (
            "files",
            ("nile.md", "# The Nile\n\nThe Nile flows north into the Mediterranean Sea.".encode(), "text/markdown"),
        ),
        ("files", ("broken.txt", b"\x00\x01\x02\xff" * 50, "text/plain")),
    ]
    r = http.post("/api/articles", files=files, data={"source": "uploads"}, headers=admin)
    body = r.json()
    assert r.status_code == 200 and body["added"] == 1, body
    assert [x["origin"] for x in body["rejected"]] == ["broken.txt"] and body["rejected"][0]["reason"]
    only_bad = http.post("/api/articles", files=files[1:], headers=admin)
    assert only_bad.status_code == 422 and only_bad.json()["rejected"]
    r = http.post("/api/articles", content=b"x", headers={**admin, "Content-Type": "text/plain"})
    assert r.status_code == 415 and error_of(r)["code"] == "unsupported_media_type"
    big = [("files", ("big.txt", b"word " * 60_000, "text/plain"))]
    assert http.post("/api/articles", files=big, headers=admin).status_code == 413


def test_upload_is_off_without_an_admin_token(service):
    with serve_app(service) as url:
        r = httpx.post(f"{url}/api/articles", json={"articles": []}, headers={"Authorization": "Bearer x"})
        assert r.status_code == 403 and "SANAD_ADMIN_TOKEN" in error_of(r)["message"]
        # no ask token configured: asking is open
        assert httpx.post(f"{url}/api/ask", json={"question": "Who controls Baghouz?"}, timeout=60).is_success


def test_embedding_headers_and_gated_ui(http):
    for path in ("/", "/embed/", "/api/articles"):
        r = http.get(path, headers=AUTH)
        assert r.headers["content-security-policy"] == f"frame-ancestors 'self' {WIKI}", path
    assert "Sanad" in http.get("/embed/").text
    preflight = {
        "Origin": WIKI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    assert http.options("/api/ask", headers=preflight).headers.get("access-control-allow-origin") == WIKI
    evil = {**preflight, "Origin": "http://evil.example"}
    assert "access-control-allow-origin" not in http.options("/api/ask", headers=evil).headers
    # the UI's own ask endpoint needs the token as well
    join = {"data": ["Who controls Baghouz?", None], "fn_index": 0, "session_hash": "abc"}
    assert http.post("/gradio_api/queue/join", json=join).status_code == 401
    assert http.post("/gradio_api/queue/join", json=join, headers=AUTH).status_code == 200


def test_openapi_docs(http):
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/ask/stream", "/api/articles", "/healthz", "/readyz"} <= set(paths)


def test_rate_limit_per_client(service):
    with (
        serve_app(service, WebConfig(embed_origins=(WIKI,), asks_per_minute=3)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        ask = functools.partial(
            http.post, "/api/ask", json={"question": "Who controls Baghouz?"}, headers={"Origin": WIKI}
        )
        join = functools.partial(
            http.post, "/gradio_api/queue/join", json={"data": ["Who?", None], "fn_index": 0, "session_hash": "abc"}
        )
        *asks, joined = at_once(ask, ask, ask, ask, join)  # sent together, so no answer's time refills the limit
        # three questions a minute, and the chat's question is one of them
        assert sorted(r.status_code for r in (*asks, joined)) == [200, 200, 200, 429, 429]
        refused = [r for r in asks if r.status_code == 429]  # four asks, three allowed: at least one
        assert refused and all(
            int(r.headers["retry-after"]) >= 1 and error_of(r)["code"] == "rate_limited" for r in refused
        )
        assert all(r.headers["access-control-allow-origin"] == WIKI for r in refused)  # a browser can read the refusal
        assert http.get("/api/articles").status_code == 200  # reading the list is not asking
