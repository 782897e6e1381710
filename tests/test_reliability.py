"""Reliability: a Chroma server that goes away and comes back, an ingestion killed halfway, replicas."""

import contextlib
import json
import os
import re
import signal
import subprocess
import time

import httpx
import pytest

from index.datadir import DataDir
from index.errors import StoreUnavailable
from index.hybrid import IndexConfig, open_index
from index.ingest import ingest, make_passages
from index.loaders import load_paths
from index.store import ChromaServer
from index.types import Article
from qa.query import make_query
from qa.retrieve import Retriever
from tests.conftest import ROOT, SEED
from tests.servers import chroma_server, free_port, serve_app, token_proxy

pytestmark = pytest.mark.slow  # not in `make test-fast`

QUESTION = {"question": "Who controls Baghouz?"}


def on_server(port: int, token: str = "", collection: str = "sanad") -> IndexConfig:
    return IndexConfig(collection=collection, chroma=ChromaServer("127.0.0.1", port, token))


def test_chroma_server_down_is_a_503_and_recovers(tmp_path, encoder, service_for):
    port = free_port()
    chroma = contextlib.ExitStack()
    chroma.enter_context(chroma_server(tmp_path / "chroma", port))
    index = open_index(DataDir(tmp_path / "data"), on_server(port), encoder)
    ingest(load_paths([SEED]), index)
    with serve_app(service_for(index)) as url, httpx.Client(base_url=url) as http:
        assert http.post("/api/ask", json=QUESTION, timeout=60).json()["citations"]
        chroma.close()  # the Chroma server stops
        down = http.post("/api/ask", json=QUESTION, timeout=60)
        assert down.status_code == 503 and down.json()["error"]["code"] == "index_unavailable"
        assert "Chroma" in down.json()["error"]["message"]
        ready = http.get("/readyz", timeout=60)
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert http.get("/healthz").status_code == 200  # the process itself is fine
        # it comes back on the same port with the same data: answers resume, nothing was lost
        with chroma_server(tmp_path / "chroma", port):
            assert http.get("/readyz", timeout=60).status_code == 200
            back = http.post("/api/ask", json=QUESTION, timeout=60)
            assert back.status_code == 200 and back.json()["citations"]


def test_a_chroma_server_behind_a_token_proxy(tmp_path, encoder, service_for):
    """README's deployment: `chroma run` on a private address, a proxy in front that checks a token."""
    with chroma_server(tmp_path / "chroma") as port, token_proxy(f"http://127.0.0.1:{port}", "chroma-secret") as proxy:
        index = open_index(DataDir(tmp_path / "data"), on_server(proxy, "chroma-secret"), encoder)
        ingest(load_paths([SEED]), index)
        assert service_for(index).ask("Who controls Baghouz?").citations
        for token, says in (("", "set SANAD_CHROMA_TOKEN"), ("wrong", "refused the token")):
            with pytest.raises(StoreUnavailable, match=says):
                open_index(DataDir(tmp_path / "d2"), on_server(proxy, token), encoder)


def test_kill_9_halfway_through_ingest_then_rerun_loses_nothing(sanad_exe, data_dir, encoder):
    feed = ROOT / "examples" / "articles" / "xquad-ar.jsonl"
    env = {**os.environ, "SANAD_DATA_DIR": str(data_dir), "SANAD_LLM": "extractive"}
    proc = subprocess.Popen([sanad_exe, "ingest", str(feed)], env=env, stderr=subprocess.PIPE)
    seen = b""
    while proc.poll() is None:  # kill -9 once the progress bar passes 40 % of the passages
        seen += os.read(proc.stderr.fileno(), 4096)
        done = [int(p) for p in re.findall(rb"embedding:\s+(\d+)%", seen)]
        if done and done[-1] >= 40:
            proc.send_signal(signal.SIGKILL)
            break
    assert proc.wait(timeout=60) == -signal.SIGKILL, "ingest finished before it could be killed"

    again = subprocess.run([sanad_exe, "ingest", "--quiet", str(feed)], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    index = open_index(DataDir(data_dir), encoder=encoder)
    articles = [a for a in load_paths([feed]) if isinstance(a, Article)]
    expected = {p.id for a in articles for p in make_passages(a)}
    stored = [pid for pid, _, _ in index.dense.rows(documents=False)]
    assert len(stored) == len(set(stored)) == index.count()  # no duplicates
    assert set(stored) == expected  # every passage of every article, no orphans
    assert index.lexical is not None and index.lexical.count() == len(expected)  # both legs in sync
    assert {a["article_id"] for a in index.articles()} == {a.id for a in articles}
    answer = subprocess.run([sanad_exe, "ask", "--json", "متى تأسست جامعة هارفارد؟"], env=env, capture_output=True)
    assert answer.returncode == 0 and json.loads(answer.stdout)["citations"]


def test_a_replica_sees_another_replicas_ingestion(tmp_path, encoder):
    """Two app replicas share one Chroma; each keeps its own BM25 file, which catches up in the background."""
    port = free_port()
    with chroma_server(tmp_path / "chroma", port):
        a, b = (open_index(DataDir(tmp_path / n), on_server(port, collection="shared"), encoder) for n in "ab")
        b.watch(seconds=0.2)  # what a server does; never inside a question
        reader = Retriever(b.dense, b.lexical, mode="lexical")
        query = make_query("الباغوز", encoder)
        assert reader.search(query) == []
        ingest(load_paths([SEED]), a)  # replica A ingests
        deadline = time.monotonic() + 60
        while b.lexical.count() < a.count() and time.monotonic() < deadline:
            time.sleep(0.2)
        hits = reader.search(query)  # replica B's lexical leg caught up on its own
        assert hits and all(h.article_id == "baghouz-ar.md" for h in hits)
        assert b.lexical.count() == a.lexical.count() == a.count()
        b.close()
