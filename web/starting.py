"""What the server answers while the engine starts: the port is open at once, and says what is going on.

On a first start the model is converted and the demo articles are indexed, which takes minutes;
a browser opened meanwhile should not meet a refused connection. :class:`Starting` is a tiny
ASGI app served from the first second: ``/readyz`` is 503 with the phase, ``/healthz`` 200, and
every page a "getting ready" page that reloads itself until the chat is there. It says nothing
but the phase (no paths, no settings), keeps the allowed-hosts check, and runs no script.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from web.guards import host_allowed

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sanad · getting ready</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}
p.ar{{direction:rtl}}</style></head>
<body><h1>Sanad · سند</h1>
<p id="phase">Getting ready: {phase}…</p>
<p class="ar">يجري التحضير، لحظات من فضلك…</p>
<p>This page reloads itself; the chat opens when everything is ready.</p></body></html>
"""


class Starting:
    """The app served until the real one is built; ``phase`` says what is being done."""

    def __init__(self, hosts: tuple[str, ...]):
        """``hosts``: the host names to answer (the same check as the real app's guard)."""
        self.phase = "starting"
        self.hosts = hosts

    def set_phase(self, phase: str) -> None:
        """Called by the start-up as it moves on (from another thread: a plain attribute write)."""
        self.phase = phase

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI call: the lifespan, /readyz, /healthz, or the "getting ready" page."""
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return  # a websocket: closed unanswered
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        if not host_allowed(host, self.hosts):
            await _respond(send, 400, "text/plain", b"Unknown host")
        elif scope["path"] == "/readyz":
            body = json.dumps({"ready": False, "phase": self.phase}).encode()
            await _respond(send, 503, "application/json", body, retry=True)
        elif scope["path"] == "/healthz":
            await _respond(send, 200, "application/json", json.dumps({"status": "starting"}).encode())
        else:
            page = PAGE.format(phase=html.escape(self.phase)).encode()
            await _respond(send, 503, "text/html; charset=utf-8", page, retry=True)


async def _respond(send: Send, status: int, kind: str, body: bytes, retry: bool = False) -> None:
    headers = [
        (b"content-type", kind.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if retry:
        headers.append((b"retry-after", b"2"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
