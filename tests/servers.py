"""Real servers on 127.0.0.1 for tests: the app under uvicorn, and a static page on another port."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import uvicorn

from app import create_app, uvicorn_config
from qa.service import Service
from tests.processes import chroma_server, free_port
from web import WebConfig

T = TypeVar("T")

__all__ = ["at_once", "chroma_server", "free_port", "serve_app", "serve_folder"]


@contextlib.contextmanager
def serve_app(service: Service, web: WebConfig | None = None) -> Iterator[str]:
    """Serve the whole app for ``service`` with uvicorn in a thread, as ``python app.py`` does; yields its base URL."""
    web = dataclasses.replace(web or WebConfig(), host="127.0.0.1", port=free_port())
    config = uvicorn_config(create_app(service, web), web)
    config.timeout_keep_alive = 300  # the default 5 s races the client reusing a connection between slow tests
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{web.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def at_once(*requests: Callable[[], T]) -> list[T]:
    """Send ``requests`` together from threads of their own; their results, in order.

    A rate limit counts a request when it arrives, so requests sent together meet it however
    long each answer takes: sent one after another, slow answers let the limit refill between them.
    """
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(lambda request: request(), requests))


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` as static files (a page from another origin); yields its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def token_proxy(upstream: str, token: str) -> Iterator[int]:
    """A reverse proxy on 127.0.0.1 that forwards to ``upstream`` only requests bearing ``token``.

    What README's deployment puts in front of ``chroma run`` (which has no authentication of its own).
    """
    import httpx

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _forward(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {token}":
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization")}
            r = httpx.request(self.command, upstream + self.path, content=body, headers=headers, timeout=60)
            self.send_response(r.status_code)
            for k, v in r.headers.items():
                if k.lower() not in ("transfer-encoding", "content-encoding", "content-length", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(r.content)))
            self.end_headers()
            self.wfile.write(r.content)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
