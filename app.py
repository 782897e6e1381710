"""Sanad's web app: the chat at ``/``, a compact chat for wiki pages at ``/embed/``, and the JSON API.

One ASGI app: the API routes first (they take precedence), then the Gradio pages mounted on
them, all behind one guard (``web/guards.py``) that answers only the routes the pages and the
API need. ``python app.py`` reads the settings, builds the service and serves it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.middleware.cors import CORSMiddleware  # noqa: E402

from qa.service import Service  # noqa: E402
from web import WebConfig  # noqa: E402
from web.api import create_api  # noqa: E402
from web.chat import build_ui, head, static  # noqa: E402
from web.guards import TOKEN_HEADER, Access, Buckets, Guard, Policy, SecurityHeaders, default_hosts, routes  # noqa: E402
from web.starting import Starting  # noqa: E402

logger = logging.getLogger("sanad")


def create_app(service: Service, web: WebConfig | None = None) -> FastAPI:
    """The whole web app for ``service``, configured by ``web``."""
    web = web or WebConfig()
    # Gradio accepts a file value from a browser only if it lies in this folder; a private one
    # per process means no file of anybody else's (the pages themselves never upload).
    if "GRADIO_TEMP_DIR" not in os.environ:  # `serve` makes it, and removes it when the server stops
        os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="sanad-gradio-")
    app = create_api(service)
    css = static("sanad.css")
    for path, compact in (("/embed", True), ("/", False)):
        ui = build_ui(service, compact=compact, uploads=bool(web.admin_token))
        gr.mount_gradio_app(
            app,
            ui,
            path=path,
            css=css + static("embed.css") if compact else css,
            head=head(),
            footer_links=[],
            run_history=False,  # nothing of the conversation (or a token) is kept in the browser's storage
            show_error=False,  # exception text stays in the server log
            max_file_size=1,  # the pages upload nothing through Gradio
            ssr_mode=False,
            pwa=False,
            mcp_server=False,
        )
        # Gradio checks that a file named in a request was uploaded by a user only once the app
        # has "launched", which a mounted app never does (gradio 6.31 processing_utils._check_allowed).
        ui.has_launched = True
    policy = Policy(
        routes(web.max_upload_bytes),
        Access(web.api_token, web.admin_token),
        web.allowed_hosts or default_hosts(web.host),
        questions=Buckets(web.asks_per_minute),
    )
    app.add_middleware(Guard, policy=policy)
    app.add_middleware(SecurityHeaders, frame_ancestors=" ".join(["'self'", *web.embed_origins]))
    # outermost, so that refusals (401, 413, 429) reach a browser on an allowed origin readable
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(web.embed_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", TOKEN_HEADER],
        expose_headers=["Retry-After"],
    )
    return app


def uvicorn_config(app: Any, web: WebConfig) -> uvicorn.Config:
    """How uvicorn serves ``app``: X-Forwarded-For is believed only from ``web.trusted_proxies``."""
    return uvicorn.Config(
        app,
        host=web.host,
        port=web.port,
        log_level="warning",
        proxy_headers=bool(web.trusted_proxies),
        forwarded_allow_ips=",".join(web.trusted_proxies) or "",
        server_header=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=10,  # open streams (the pages' heartbeats) must not hold a stop forever
    )


def serve(settings: Any) -> None:
    """Listen at once (a "getting ready" page), build everything, then serve the app until interrupted.

    One listening socket serves both: the start-up page's server hands it over to the app's, so
    a browser never meets a refused connection, only a page that says what is being done.
    """
    from qa.engine import build_service

    web = settings.web()
    hosts = web.allowed_hosts or default_hosts(web.host)
    sock = listen(web.host, web.port)
    starting = Starting(hosts)
    early = uvicorn.Server(uvicorn_config(starting, web))
    thread = threading.Thread(target=early.run, kwargs={"sockets": [sock.dup()]}, daemon=True)
    thread.start()
    logger.info("Sanad is starting on http://%s:%d; /readyz says when it is ready", web.host, web.port)
    shown = ""

    def progress(phase: str) -> None:
        nonlocal shown
        starting.set_phase(phase)
        if phase.split(" (")[0] != shown:  # one console line per phase, not per article
            shown = phase.split(" (")[0]
            logger.info("Getting ready: %s", phase)

    uploads = None if "GRADIO_TEMP_DIR" in os.environ else Path(tempfile.mkdtemp(prefix="sanad-gradio-"))
    if uploads is not None:
        os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    try:
        app = create_app(build_service(settings.service(), watch=True, progress=progress), web)
    except BaseException:
        if uploads is not None:
            shutil.rmtree(uploads, ignore_errors=True)
        raise
    finally:
        early.should_exit = True
        thread.join()
    if uploads is not None:
        remove_on_shutdown(app, uploads)
    logger.info("Sanad on http://%s:%d (chat /, embed /embed/, API /docs)", web.host, web.port)
    logger.info("Answering requests for host names %s (SANAD_ALLOWED_HOSTS)", ", ".join(hosts))
    if not web.embed_origins:
        logger.info(
            "No other site may frame the chat: to embed /embed/ in a wiki, list the wiki's origin "
            "(e.g. https://wiki.example.org) in SANAD_EMBED_ORIGINS"
        )
    uvicorn.Server(uvicorn_config(app, web)).run(sockets=[sock])


def remove_on_shutdown(app: FastAPI, folder: Path) -> None:
    """Delete ``folder`` when ``app`` shuts down.

    At the end of the lifespan, not with ``atexit``: on SIGTERM uvicorn shuts the app down, then
    raises the signal again, which ends the process before ``atexit`` handlers run.
    """
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        try:
            async with inner(app) as state:
                yield state
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    app.router.lifespan_context = lifespan


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (IPv4 or IPv6), as uvicorn would open it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main() -> None:
    """``python app.py``: serve with the settings from the environment."""
    from settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    serve(Settings())


if __name__ == "__main__":
    main()
