"""Reliability: a Chroma server that goes away and comes back; (more cases follow in this file)."""

import contextlib

import httpx

from app import create_app
from index.ingest import ingest
from index.loaders import load_paths
from qa.answer import Answerer
from qa.engine import open_index
from qa.retrieve import Retriever
from qa.service import Service
from tests.conftest import SEED
from tests.servers import chroma_server, free_port, serve_app

QUESTION = {"question": "Who controls Baghouz?"}


def test_chroma_server_down_is_a_503_and_recovers(tmp_path, embeddings):
    port = free_port()
    chroma = contextlib.ExitStack()
    chroma.enter_context(chroma_server(tmp_path / "chroma", port))
    store = open_index(tmp_path / "data", chroma_host="127.0.0.1", chroma_port=port, embeddings=embeddings)
    ingest(load_paths([SEED]), store)
    with serve_app(create_app(Service(Answerer(Retriever(store))))) as url, httpx.Client(base_url=url) as http:
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
