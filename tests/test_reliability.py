"""Reliability: a Chroma server that goes away and comes back, an ingestion killed halfway."""

import contextlib
import json
import os
import re
import signal
import subprocess

import httpx
import pytest

from index.ingest import ingest, make_passages
from index.loaders import load_paths
from index.store import StoreUnavailable
from index.types import Article
from qa.answer import Answerer
from qa.engine import open_index
from qa.retrieve import Retriever
from qa.service import Service
from tests.conftest import ROOT, SEED
from tests.servers import chroma_server, free_port, serve_app, token_proxy

QUESTION = {"question": "Who controls Baghouz?"}


def test_chroma_server_down_is_a_503_and_recovers(tmp_path, embeddings):
    port = free_port()
    chroma = contextlib.ExitStack()
    chroma.enter_context(chroma_server(tmp_path / "chroma", port))
    store = open_index(tmp_path / "data", chroma_host="127.0.0.1", chroma_port=port, embeddings=embeddings)
    ingest(load_paths([SEED]), store)
    with serve_app(Service(Answerer(Retriever(store)))) as url, httpx.Client(base_url=url) as http:
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


def test_a_chroma_server_behind_a_token_proxy(tmp_path, embeddings):
    """README's deployment: `chroma run` on a private address, a proxy in front that checks a token."""
    with chroma_server(tmp_path / "chroma") as port, token_proxy(f"http://127.0.0.1:{port}", "chroma-secret") as proxy:
        store = open_index(
            tmp_path / "data",
            chroma_host="127.0.0.1",
            chroma_port=proxy,
            chroma_token="chroma-secret",
            embeddings=embeddings,
        )
        ingest(load_paths([SEED]), store)
        assert Answerer(Retriever(store)).answer("Who controls Baghouz?").citations
        for token, says in (("", "set SANAD_CHROMA_TOKEN"), ("wrong", "refused the token")):
            with pytest.raises(StoreUnavailable, match=says):
                open_index(
                    tmp_path / "d2",
                    chroma_host="127.0.0.1",
                    chroma_port=proxy,
                    chroma_token=token,
                    embeddings=embeddings,
                )


def test_kill_9_halfway_through_ingest_then_rerun_loses_nothing(sanad_exe, data_dir, embeddings):
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
    store = open_index(data_dir, embeddings=embeddings)
    articles = [a for a in load_paths([feed]) if isinstance(a, Article)]
    expected = {p.id for a in articles for p in make_passages(a)}
    stored = [pid for pid, _ in store.iter_metadata()]
    assert len(stored) == len(set(stored)) == store.count()  # no duplicates
    assert set(stored) == expected  # every passage of every article, no orphans
    assert store.lexical is not None and store.lexical.count() == len(expected)  # both legs in sync
    assert {a["article_id"] for a in store.articles()} == {a.id for a in articles}
    answer = subprocess.run([sanad_exe, "ask", "--json", "متى تأسست جامعة هارفارد؟"], env=env, capture_output=True)
    assert answer.returncode == 0 and json.loads(answer.stdout)["citations"]


def test_a_replica_sees_another_replicas_ingestion(tmp_path, embeddings):
    """Two app replicas share one Chroma; each keeps its own BM25 file, which catches up by itself."""
    from index.lexical import LexicalIndex
    from index.store import PassageStore, open_client

    port = free_port()
    with chroma_server(tmp_path / "chroma", port):
        a, b = (
            PassageStore(
                open_client(host="127.0.0.1", port=port),
                "shared",
                embeddings,
                lexical=LexicalIndex(tmp_path / f"{n}.sqlite"),
            )
            for n in ("a", "b")
        )
        reader = Retriever(b, mode="lexical", lexical_check_seconds=0)
        assert reader.retrieve("الباغوز") == []
        ingest(load_paths([SEED]), a)  # replica A ingests
        hits = reader.retrieve("الباغوز")  # replica B's lexical leg catches up on its own
        assert hits and all(h.article_id == "baghouz-ar.md" for h in hits)
        assert b.lexical.count() == a.lexical.count() == a.count()
