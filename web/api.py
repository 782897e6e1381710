"""Sanad's JSON HTTP API (FastAPI), served in the same process as the chat UI.

    POST /api/ask          {question, history?, k?, filters?} -> the structured answer
    POST /api/ask/stream   the same as server-sent events: ``token`` events, then ``answer``
    GET  /api/articles     index statistics and the stored articles
    POST /api/articles     ingest uploaded files or JSON records (admin token)
    GET  /healthz          the process is up
    GET  /readyz           the index and the embedding model answer (503 when not)

Errors are JSON: ``{"error": {"code": "...", "message": "..."}}`` with a 4xx/5xx status.
The Gradio UI is mounted on the returned app *after* these routes, so they take precedence.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.store import StoreError
from qa.errors import NothingIndexed, QAError
from qa.retrieve import MAX_QUESTION_CHARS
from qa.service import MAX_HISTORY_TURNS, BadRequest, Filters, Service, report_dict
from qa.types import Answer, Token

logger = logging.getLogger(__name__)

ASK_BODY_LIMIT = 256 * 1024  # a question, its history and filters fit many times over
TOKEN_HEADER = "x-sanad-token"


class HistoryTurn(BaseModel):
    """One earlier exchange of the conversation."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=MAX_QUESTION_CHARS)
    answer: str = Field("", max_length=20_000)


class FilterModel(BaseModel):
    """Restrict the articles an answer may come from."""

    model_config = ConfigDict(extra="forbid")
    sources: list[str] = Field(default_factory=list, max_length=50, description="Article sources (any of)")
    languages: list[str] = Field(default_factory=list, max_length=20, description="Article languages, e.g. ar, en")
    date_from: str = Field("", description="Earliest article date: 2018, 2018-12 or 2018-12-10")
    date_to: str = Field("", description="Latest article date, inclusive")


class AskRequest(BaseModel):
    """A question, optionally with the conversation so far."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": "Who controls Baghouz?"}, {"question": "من يسيطر على الباغوز؟"}]},
    )
    # Longer questions are refused with a clear message by the answerer, not by the schema.
    question: str = Field(max_length=4 * MAX_QUESTION_CHARS)
    history: list[HistoryTurn] = Field(default_factory=list, max_length=4 * MAX_HISTORY_TURNS)
    k: int | None = Field(None, ge=1, le=20, description="Passages to read (default: the server's top_k)")
    filters: FilterModel | None = None


class ArticlesRequest(BaseModel):
    """Articles as JSON records, the format of ``sanad ingest`` JSONL files."""

    model_config = ConfigDict(extra="forbid")
    articles: list[dict[str, Any]] = Field(max_length=10_000)
    source: str = ""


def create_api(
    service: Service,
    max_upload_bytes: int = 50 * 1024 * 1024,
    gated_paths: tuple[str, ...] = (),
    asks_per_minute: int = 0,
) -> FastAPI:
    """The API app.

    ``gated_paths``: path fragments of other ask endpoints (the UI's) that need the ask token and
    count against the rate limit; ``asks_per_minute``: questions per client address (0 = no limit).
    """
    api = FastAPI(
        title="Sanad API",
        summary="Cited answers from news articles, in the question's language.",
        docs_url="/docs",
        redoc_url=None,
    )
    origins = list(service.access.embed_origins)
    api.add_middleware(TokenGate, service=service, gated_paths=gated_paths)
    if asks_per_minute:
        api.add_middleware(RateLimit, per_minute=asks_per_minute, paths=("/api/ask", *gated_paths))
    api.add_middleware(BodyLimit, limits={"/api/articles": max_upload_bytes}, default=ASK_BODY_LIMIT)
    api.add_middleware(SecurityHeaders, frame_ancestors=" ".join(["'self'", *origins]))
    # outermost, so that refusals (401, 413, 429) reach a browser on an allowed origin readable
    api.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", TOKEN_HEADER],
        expose_headers=["Retry-After"],
    )
    _error_handlers(api)

    def ask_access(request: Request) -> None:
        if not service.access.may_ask(request_token(request)):
            raise HTTPException(401, "This server needs an ask token: Authorization: Bearer <token> or ?token=")

    def admin_access(request: Request) -> None:
        if not service.access.admin_token:
            raise HTTPException(403, "Uploading is disabled on this server (SANAD_ADMIN_TOKEN is not set).")
        if not service.access.may_upload(bearer(request)):
            raise HTTPException(401, "Uploading needs the admin token: Authorization: Bearer <SANAD_ADMIN_TOKEN>.")

    @api.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @api.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """The index and the embedding model answer; 503 otherwise."""
        checks = service.readiness()
        return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

    @api.post("/api/ask", tags=["ask"], dependencies=[Depends(ask_access)])
    def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question with numbered citations (or say the articles do not answer it)."""
        return service.ask(body.question, _history(body), _filters(body), body.k).to_dict()

    @api.post("/api/ask/stream", tags=["ask"], dependencies=[Depends(ask_access)])
    def ask_stream(body: AskRequest) -> StreamingResponse:
        """The answer as server-sent events.

        ``token`` events ({"text"}) as the answer is written, then one ``answer`` event (the
        structured answer), or an ``error`` event ({"error": {"code", "message"}}).
        """
        filters = _filters(body)  # bad filters fail before the stream starts
        stream = service.ask_stream(body.question, _history(body), filters, body.k)
        return StreamingResponse(_events(stream), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @api.get("/api/articles", tags=["articles"], dependencies=[Depends(ask_access)])
    def list_articles(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0
    ) -> dict[str, Any]:
        """Index statistics and the stored articles, newest first."""
        return service.articles(limit, offset)

    @api.post(
        "/api/articles",
        tags=["articles"],
        dependencies=[Depends(admin_access)],
        openapi_extra={
            "requestBody": {
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                "source": {"type": "string"},
                            },
                        }
                    },
                    "application/json": {"schema": ArticlesRequest.model_json_schema()},
                }
            }
        },
    )
    async def add_articles(request: Request) -> JSONResponse:
        """Ingest files (multipart ``files``: .txt .md .html .jsonl .jsonl.gz) or JSON ``{"articles": [...]}``."""
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            form = await request.form()
            uploads = [f for f in form.getlist("files") if not isinstance(f, str)]
            files = [(f.filename or "upload.txt", await f.read()) for f in uploads]
            source = str(form.get("source") or "")
            report = await run_in_threadpool(service.ingest_files, files, source)
        elif kind.startswith("application/json"):
            try:
                body = ArticlesRequest.model_validate_json(await request.body())
            except ValueError as e:
                raise RequestValidationError(getattr(e, "errors", lambda: [])()) from e
            report = await run_in_threadpool(service.ingest_records, body.articles, body.source)
        else:
            raise HTTPException(415, "Send multipart/form-data with 'files', or application/json with 'articles'.")
        result = report_dict(report)
        stored = report.added + report.updated + report.unchanged + report.duplicates
        return JSONResponse(result, status_code=200 if stored or not report.rejected else 422)

    return api


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def request_token(request: Request) -> str | None:
    """An ask token from the Authorization header, the X-Sanad-Token header or ``?token=``."""
    return bearer(request) or request.headers.get(TOKEN_HEADER) or request.query_params.get("token")


def _history(body: AskRequest) -> list[tuple[str, str]]:
    return [(t.question, t.answer) for t in body.history]


def _filters(body: AskRequest) -> Filters | None:
    if body.filters is None:
        return None
    f = body.filters
    filters = Filters(tuple(f.sources), tuple(f.languages), f.date_from, f.date_to)
    filters.where()  # raises BadRequest on a malformed date
    return filters


def _events(stream: Iterator[Token | Answer]) -> Iterator[str]:
    try:
        for item in stream:
            if isinstance(item, Token):
                yield _sse("token", {"text": item.text})
            else:
                yield _sse("answer", item.to_dict())
    except Exception as e:  # the status line is already sent: report the error as an event
        status, code, text = _classify(e)
        if status >= 500:
            logger.exception("Streaming an answer failed")
        yield _sse("error", {"error": {"code": code, "message": text}})


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _classify(e: Exception) -> tuple[int, str, str]:
    """HTTP status, error code and a message for the person who asked."""
    if isinstance(e, NothingIndexed):
        return 409, "nothing_indexed", str(e)
    if isinstance(e, BadRequest | QAError | ValueError):
        return 400, "bad_request", str(e)
    if isinstance(e, StoreError):
        return 503, "index_unavailable", str(e)
    return 500, "internal_error", "Something went wrong while answering; the details are in the server log."


def _error(status: int, code: str, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": text}}, status_code=status, headers=headers)


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
_CODES |= {409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request"}


def _error_handlers(api: FastAPI) -> None:
    @api.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if e.status_code == 401 else None
        return _error(e.status_code, _CODES.get(e.status_code, "error"), str(e.detail), headers)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body')}: {err.get('msg')}" for err in e.errors()
        ]
        return _error(422, "invalid_request", "; ".join(problems) or "invalid request body")

    async def expected(request: Request, e: Exception) -> JSONResponse:
        status, code, text = _classify(e)
        return _error(status, code, text)

    # Handled here, these keep the connection open (a handler for Exception runs only after
    # Starlette's error middleware has given up on the request, and it drops the connection).
    for kind in (QAError, BadRequest, ValueError, StoreError):
        api.add_exception_handler(kind, expected)

    @api.exception_handler(Exception)
    async def failed(request: Request, e: Exception) -> JSONResponse:
        logger.error("Request %s failed", request.url.path, exc_info=e)
        return _error(*_classify(e))


class SecurityHeaders:
    """Adds ``Content-Security-Policy: frame-ancestors`` (who may embed us) to every response."""

    def __init__(self, app: ASGIApp, frame_ancestors: str):
        """Wrap ``app``; ``frame_ancestors`` is the CSP source list."""
        self.app = app
        self.headers = [
            (b"content-security-policy", f"frame-ancestors {frame_ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over a size limit with 413, before the app reads them."""

    def __init__(self, app: ASGIApp, limits: dict[str, int], default: int):
        """Per-path limits (exact path), ``default`` for every other /api path."""
        self.app, self.limits, self.default = app, limits, default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/"):
            return await self.app(scope, receive, send)
        limit = self.limits.get(path.rstrip("/"), self.default)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _refuse(send, limit)
        chunks, size, more = [], 0, True
        while more:  # no or false Content-Length: read up to the limit, then replay
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > limit:
                return await _refuse(send, limit)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(send: Send, limit: int) -> None:
    text = f"The request body is larger than this endpoint accepts ({limit // 1024} KiB)."
    await _send_error(send, 413, "too_large", text)


async def _send_error(send: Send, status: int, code: str, text: str, **headers: str) -> None:
    """The JSON error body of :func:`_error`, sent from a middleware (before any route runs)."""
    body = json.dumps({"error": {"code": code, "message": text}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class TokenGate:
    """When an ask token is configured, the UI's ask endpoints (``gated_paths``) need it too.

    The chat page forwards ``?token=`` from its own URL as the X-Sanad-Token header (a small
    script in the page head), so ``/embed?token=...`` works in a cross-site iframe without cookies.
    """

    def __init__(self, app: ASGIApp, service: Service, gated_paths: tuple[str, ...]):
        """Wrap ``app``."""
        self.app, self.service, self.gated = app, service, gated_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] == "http" and self.service.access.api_token:
            path = scope.get("path", "")
            if any(g in path for g in self.gated) and not self.service.access.may_ask(request_token(Request(scope))):
                text = "This server needs an ask token."
                return await _send_error(send, 401, "unauthorized", text, www_authenticate="Bearer")
        await self.app(scope, receive, send)


class RateLimit:
    """At most ``per_minute`` questions per client address (token bucket); 429 with Retry-After beyond.

    The address is the connection's peer; behind a proxy, run uvicorn with ``--proxy-headers`` and
    ``--forwarded-allow-ips`` so that it is the client's.
    """

    def __init__(self, app: ASGIApp, per_minute: int, paths: tuple[str, ...]):
        """Wrap ``app``; requests whose path contains one of ``paths`` are counted."""
        self.app, self.paths = app, paths
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, last time)
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "POST" or not any(p in path for p in self.paths):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("?", 0))[0]
        wait = self._take(client)
        if wait > 0:
            text = f"Too many questions; try again in {wait:.0f} s."
            return await _send_error(send, 429, "rate_limited", text, retry_after=str(max(1, round(wait))))
        await self.app(scope, receive, send)

    def _take(self, client: str) -> float:
        """Take one token; the seconds to wait when there is none."""
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                self.buckets[client] = (tokens, now)
                return (1 - tokens) / self.rate
            self.buckets[client] = (tokens - 1, now)
            if len(self.buckets) > 100_000:  # forget idle clients rather than grow without bound
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 120}
            return 0.0
