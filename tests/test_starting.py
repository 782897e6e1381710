"""The start-up page: the port answers from the first second, says the phase, and reveals nothing else."""

import threading
import time

import httpx
import pytest
import uvicorn

from app import listen
from tests.processes import free_port
from web.starting import Starting


@pytest.fixture
def starting():
    app = Starting(("localhost", "127.0.0.1", "::1"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listen("127.0.0.1", port)]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_readyz_says_the_phase_until_the_app_is_ready(starting):
    app, base = starting
    app.set_phase("indexing the demo articles (120/474 passages)")
    r = httpx.get(f"{base}/readyz")
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.json() == {"ready": False, "phase": "indexing the demo articles (120/474 passages)"}
    assert httpx.get(f"{base}/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/", "/embed/", "/api/ask", "/gradio_api/upload"])
def test_every_page_is_the_getting_ready_page_which_reloads_itself(starting, path):
    app, base = starting
    app.set_phase("<script>alert(1)</script> loading")
    r = httpx.get(base + path)
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert '<meta http-equiv="refresh" content="2">' in r.text
    assert "&lt;script&gt;" in r.text and "<script>" not in r.text  # the phase is text, never markup
    assert "default-src 'none'" in r.headers["content-security-policy"] and r.headers["cache-control"] == "no-store"


def test_other_host_names_are_refused_as_by_the_app(starting):
    _, base = starting
    r = httpx.get(f"{base}/readyz", headers={"Host": "attacker.example"})
    assert r.status_code == 400
    assert httpx.get(f"{base}/readyz", headers={"Host": "localhost:7860"}).status_code == 503
