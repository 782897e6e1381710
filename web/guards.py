"""The HTTP guard in front of everything the server answers: one policy, default deny.

Gradio mounted on FastAPI adds dozens of routes (file serving, uploads, ``/gradio_api/api/*``
for every handler, run history, ...), and a mounted app skips checks that ``launch()`` makes.
So every request is matched against the rules of :func:`routes`; a request that matches none
is a 404 before any of that code runs. A rule says who may use the
route (anyone, the ask token, the admin token), how large its body may be, and whether it
counts as a question for the rate limit.

Checks, in order: the Host header (DNS rebinding), the route, failed-token lockout, the token,
the body size, the question rate. Clients are told what went wrong in a JSON error body.
Tokens travel only in headers (``Authorization: Bearer`` or ``X-Sanad-Token``), never in URLs.
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_HEADER = "x-sanad-token"
ASK_BODY_LIMIT = 256 * 1024  # a question, its history and filters fit many times over
FEEDBACK_BODY_LIMIT = 128 * 1024  # a rated answer with its cited passages, and a comment
FAILED_TOKENS_PER_MINUTE = 10  # wrong tokens an address may send before it is locked out for a while
# The pages a browser loads, at each mount point of the Gradio UI.
UI_MOUNTS = ("", "/embed")
Who = Literal["anyone", "ask", "admin"]


@dataclass(frozen=True)
class Rule:
    """Who may use the requests matching ``pattern`` with one of ``methods``."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    who: Who = "anyone"
    counts_as_question: bool = False
    body_limit: int = ASK_BODY_LIMIT


def _rule(methods: str, pattern: str, who: Who = "anyone", question: bool = False, limit: int = 0) -> Rule:
    return Rule(frozenset(methods.split()), re.compile(pattern), who, question, limit or ASK_BODY_LIMIT)


def routes(max_upload_bytes: int) -> list[Rule]:
    """Every route the server answers; anything else is a 404."""
    rules = [
        _rule("GET HEAD", r"/healthz|/readyz"),
        _rule("GET", r"/docs|/openapi\.json|/embed"),
        _rule("POST", r"/api/ask(/stream)?", "ask", question=True),
        _rule("POST", r"/api/feedback", "ask", question=True, limit=FEEDBACK_BODY_LIMIT),
        _rule("GET", r"/api/articles", "ask"),
        _rule("GET", r"/api/articles/.+", "ask"),
        _rule("DELETE", r"/api/articles/.+", "admin"),
        _rule("POST", r"/api/articles", "admin", limit=max_upload_bytes),
    ]
    for mount in UI_MOUNTS:
        m = re.escape(mount)
        rules += [
            # the page shell and Gradio's front-end files carry no data: anyone may load them
            _rule("GET HEAD", rf"{m}/"),
            _rule("GET", rf"{m}/(assets|static)/[\w./-]+|{m}/theme\.css|{m}/favicon\.ico"),
            # what the page's own script calls: its event queue and its stop button
            _rule("POST", rf"{m}/gradio_api/queue/join", "ask", question=True),
            _rule("GET", rf"{m}/gradio_api/queue/data", "ask"),
            # Gradio opens its heartbeat before a head script can add the token to requests; it
            # only keeps a session's state alive and answers "ALIVE", so anyone may open it.
            _rule("GET", rf"{m}/gradio_api/heartbeat/[\w-]+"),
            _rule("POST", rf"{m}/gradio_api/cancel", "ask"),
        ]
    return rules


@dataclass
class Access:
    """Who may do what: an optional token for asking, an optional admin token for uploads."""

    api_token: str = ""
    admin_token: str = ""

    def may_ask(self, token: str | None) -> bool:
        """True when asking is open, or ``token`` is the ask token or the admin token."""
        if not self.api_token:
            return True
        return bool(token) and (_same(token, self.api_token) or self.is_admin(token))

    def is_admin(self, token: str | None) -> bool:
        """True only when an admin token is configured and ``token`` is it."""
        return bool(self.admin_token and token and _same(token, self.admin_token))


def _same(a: str | None, b: str) -> bool:
    return hmac.compare_digest((a or "").encode(), b.encode())


class Buckets:
    """Token buckets per key: ``per_minute`` events, refilled continuously."""

    def __init__(self, per_minute: int):
        """``per_minute`` events per key and minute; 0 means no limit."""
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def wait(self, key: str, take: bool = True) -> float:
        """Seconds until ``key`` may act again (0 when it may now); ``take`` uses one event."""
        if not self.capacity:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if take else tokens, now)
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
            return 0.0


@dataclass
class Policy:
    """Everything the guard decides with: rules, tokens, allowed hosts and limits."""

    rules: list[Rule]
    access: Access = field(default_factory=Access)
    allowed_hosts: tuple[str, ...] = ("*",)
    questions: Buckets = field(default_factory=lambda: Buckets(0))
    failures: Buckets = field(default_factory=lambda: Buckets(FAILED_TOKENS_PER_MINUTE))

    def match(self, method: str, path: str) -> Rule | None:
        """The rule for this request, or None."""
        return next((r for r in self.rules if method in r.methods and r.pattern.fullmatch(path)), None)

    def host_allowed(self, host: str) -> bool:
        """Whether the Host header names this server."""
        return host_allowed(host, self.allowed_hosts)


class Guard:
    """ASGI middleware applying a :class:`Policy` to every HTTP request (other protocols are refused)."""

    def __init__(self, app: ASGIApp, policy: Policy):
        """Wrap ``app``."""
        self.app, self.policy = app, policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] != "http":  # no route needs a websocket
            return await send({"type": "websocket.close", "code": 1008})
        p = self.policy
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not p.host_allowed(headers.get("host", "")):
            text = "This server does not answer for that host name; add it to SANAD_ALLOWED_HOSTS."
            return await send_error(send, 400, "host_not_allowed", text)
        rule = p.match(scope.get("method", ""), scope.get("path", ""))
        if rule is None:
            return await send_error(send, 404, "not_found", "There is nothing at this address.")
        client = (scope.get("client") or ("?", 0))[0]
        refusal = self._check_token(rule, headers, client)
        if refusal is not None:
            return await send_error(send, refusal.status, refusal.code, refusal.text, **refusal.headers)
        if rule.counts_as_question and (wait := p.questions.wait(client)):
            text = f"Too many questions; try again in {wait:.0f} s."
            return await send_error(send, 429, "rate_limited", text, retry_after=str(max(1, round(wait))))
        await _limited_body(self.app, scope, receive, send, rule.body_limit, headers.get("content-length"))

    def _check_token(self, rule: Rule, headers: dict[str, str], client: str) -> Refusal | None:
        access = self.policy.access
        if rule.who == "anyone" or (rule.who == "ask" and not access.api_token):
            return None
        if rule.who == "admin" and not access.admin_token:
            text = "Uploading is disabled on this server (SANAD_ADMIN_TOKEN is not set)."
            return Refusal(403, "forbidden", text, {})
        if wait := self.policy.failures.wait(client, take=False):
            text = f"Too many wrong tokens from this address; try again in {wait:.0f} s."
            return Refusal(429, "rate_limited", text, {"retry_after": str(max(1, round(wait)))})
        token = bearer(headers) if rule.who == "admin" else bearer(headers) or headers.get(TOKEN_HEADER)
        if access.is_admin(token) or (rule.who == "ask" and access.may_ask(token)):
            return None
        if token:
            self.policy.failures.wait(client)  # count the wrong guess
        if rule.who == "admin":
            text = "This needs the admin token: Authorization: Bearer <SANAD_ADMIN_TOKEN>."
            return Refusal(401, "unauthorized", text)
        text = "This server needs an ask token: Authorization: Bearer <token> or X-Sanad-Token (#token= in page URLs)."
        return Refusal(401, "unauthorized", text)


@dataclass(frozen=True)
class Refusal:
    """Why a request is turned away, as the client is told."""

    status: int
    code: str
    text: str
    headers: dict[str, str] = field(default_factory=lambda: {"www_authenticate": "Bearer"})


def bearer(headers: dict[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _limited_body(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int, declared: str | None
) -> None:
    """Run ``app`` with the request body, refusing (413) bodies over ``limit`` before the app reads them."""
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return await _too_large(send, limit)
    chunks, size, more = [], 0, True
    while more:  # read up to the limit (whatever Content-Length claims), then replay
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
        if size > limit:
            return await _too_large(send, limit)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    await app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    text = f"The request body is larger than this address accepts ({limit // 1024} KiB)."
    await send_error(send, 413, "too_large", text)


async def send_error(send: Send, status: int, code: str, text: str, **headers: str) -> None:
    """Send ``{"error": {"code", "message"}}`` with ``status`` (before any route runs)."""
    body = json.dumps({"error": {"code": code, "message": text}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Headers on every response: who may frame us (CSP), no MIME sniffing, no Referer to other sites."""

    def __init__(self, app: ASGIApp, frame_ancestors: str):
        """Wrap ``app``; ``frame_ancestors`` is the CSP source list."""
        self.app = app
        self.headers = [
            (b"content-security-policy", f"frame-ancestors {frame_ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether the Host header ``host`` (name, optional port, IPv6 in brackets) is one of ``allowed``."""
    if "*" in allowed:
        return True
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name.strip("[]").lower() in allowed


def default_hosts(bind: str) -> tuple[str, ...]:
    """The Host names a server bound to ``bind`` answers when SANAD_ALLOWED_HOSTS is not set.

    Loopback names always; the bound address itself; for all interfaces, this machine's names
    and addresses. A page on another site that resolves its own name to us (DNS rebinding)
    sends its own name, and is refused.
    """
    names = {"localhost", "127.0.0.1", "::1"}
    if bind in ("0.0.0.0", "::", ""):
        hostname = socket.gethostname()
        names |= {hostname, socket.getfqdn()}
        try:
            names |= {str(info[4][0]) for info in socket.getaddrinfo(hostname, None)}
        except OSError:
            pass
    else:
        names.add(bind)
    return tuple(sorted(n.lower() for n in names if n))
