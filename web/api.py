"""Sanad's JSON HTTP API (FastAPI), served in the same process as the chat UI.

    POST /api/ask          {question, history?, k?, filters?} -> the structured answer
    POST /api/ask/stream   the same as server-sent events: ``token`` events, then ``answer``
    POST /api/feedback     {rating: up|down, comment?, answer} -> {id}: a reader's rating of an answer
    GET  /api/articles     index statistics and the stored articles (``q`` searches titles, sources, ids)
    POST /api/articles     ingest uploaded files or JSON records (admin token)
    GET  /api/articles/ID  one article and its passages
    DELETE /api/articles/ID  remove one article (admin token)
    GET  /healthz          the process is up
    GET  /readyz           the index and the embedding model answer (503 when not)

Errors are JSON: ``{"error": {"code": "...", "message": "..."}}`` with a 4xx/5xx status.
Who may call what (tokens, body sizes, rate limits) is decided in front of these routes, by
``web/guards.py``. The Gradio UI is mounted on the returned app *after* these routes, so they
take precedence.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from index.errors import IndexingError
from qa.errors import BadRequest, QAError, classify
from qa.feedback import MAX_COMMENT_CHARS, RATINGS, answer_from_dict
from qa.query import MAX_QUESTION_CHARS
from qa.service import MAX_HISTORY_TURNS, Filters, Service, report_dict
from qa.types import Event, Final, Reset, Status, Token

logger = logging.getLogger(__name__)


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


class RatedCitation(BaseModel):
    """One citation of the rated answer, as ``/api/ask`` returned it."""

    model_config = ConfigDict(extra="ignore")
    n: int = Field(ge=1, le=999)
    article_id: str = Field(max_length=512)
    title: str = Field("", max_length=500)
    source: str = Field("", max_length=200)
    url: str = Field("", max_length=2048)
    date: str = Field("", max_length=64)
    text: str = Field("", max_length=20_000)
    start: int = Field(0, ge=0)
    end: int = Field(0, ge=0)
    score: float = Field(0.0, allow_inf_nan=False)  # NaN would make the export invalid JSON
    supported: bool = True
    quote: str = Field("", max_length=20_000)
    quote_start: int = Field(0, ge=0)
    quote_end: int = Field(0, ge=0)


class RatedAnswer(BaseModel):
    """The answer being rated: the object ``/api/ask`` returned (fields it does not need are ignored)."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(max_length=4 * MAX_QUESTION_CHARS)
    answer: str = Field(max_length=20_000)
    language: str = Field("", max_length=16)
    abstained: bool = False
    backend: str = Field("", max_length=32)
    notice: str = Field("", max_length=2000)
    citations: list[RatedCitation] = Field(default_factory=list, max_length=50)


class FeedbackRequest(BaseModel):
    """A reader's 👍 or 👎 of an answer, with an optional comment."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rating": "down",
                    "comment": "The town changed hands since.",
                    "answer": {"question": "Who controls Baghouz?", "answer": "…", "citations": []},
                }
            ]
        },
    )
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)
    answer: RatedAnswer


class ArticlesRequest(BaseModel):
    """Articles as JSON records, the format of ``sanad ingest`` JSONL files."""

    model_config = ConfigDict(extra="forbid")
    articles: list[dict[str, Any]] = Field(max_length=10_000)
    source: str = ""


def create_api(service: Service) -> FastAPI:
    """The API app (the guard of ``web/guards.py`` wraps it, and the Gradio pages are mounted on it)."""
    api = FastAPI(
        title="Sanad API",
        summary="Cited answers from news articles, in the question's language.",
        description="When the server has an ask token, send it as `Authorization: Bearer <token>` or "
        "`X-Sanad-Token`; uploading needs the admin token as `Authorization: Bearer`.",
        docs_url="/docs",
        redoc_url=None,
    )
    _error_handlers(api)

    @api.get("/embed", include_in_schema=False)
    def embed_without_slash(request: Request) -> RedirectResponse:
        """The embed lives at /embed/; a relative redirect keeps any path prefix of a proxy."""
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"embed/{query}", status_code=308)

    @api.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @api.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """The index and the embedding model answer; 503 otherwise."""
        checks = service.readiness()
        return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

    @api.post("/api/ask", tags=["ask"])
    def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question with numbered citations (or say the articles do not answer it)."""
        return service.ask(body.question, _history(body), _filters(body), body.k).to_dict()

    @api.post("/api/ask/stream", tags=["ask"])
    def ask_stream(body: AskRequest) -> StreamingResponse:
        """The answer as server-sent events, in this order.

        - ``status`` ({"stage": "searching" | "reading" | "writing", "passages"}): before the first word;
        - ``token`` ({"text"}): a piece of the answer, to append to what was shown;
        - ``reset`` ({"reason"}): throw away every token shown so far; the tokens that follow are
          the answer (the model failed and the articles are quoted instead, or its citations were
          checked and repaired);
        - ``answer``: the structured answer, whose ``answer`` text equals the tokens since the
          last ``reset``; ``notice`` says why it is not what was asked for, if so;
        - or ``error`` ({"error": {"code", "message"}}) in place of the rest.
        """
        filters = _filters(body)  # bad filters fail before the stream starts
        stream = service.ask_stream(body.question, _history(body), filters, body.k)
        return StreamingResponse(_events(stream), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @api.post("/api/feedback", tags=["feedback"])
    def feedback(body: FeedbackRequest) -> dict[str, int]:
        """Store a 👍 or 👎 (and a comment) for an answer of ``/api/ask``; ``sanad feedback export`` writes them out."""
        if service.feedback is None:
            raise BadRequest("This server does not keep ratings.")
        answer = answer_from_dict(body.answer.model_dump())
        rating = RATINGS[body.rating]
        return {"id": service.feedback.record(answer, rating, service.index_version(), "api", body.comment)}

    @api.get("/api/articles", tags=["articles"])
    def list_articles(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        q: Annotated[str, Query(max_length=200, description="only titles, sources or ids containing this")] = "",
    ) -> dict[str, Any]:
        """Index statistics and the stored articles, newest first."""
        return service.articles(limit, offset, q)

    @api.get("/api/articles/{article_id:path}", tags=["articles"])
    def get_article(article_id: Annotated[str, Path(max_length=512)]) -> dict[str, Any]:
        """One article's metadata and its passages, in order."""
        return service.article(article_id)

    @api.delete("/api/articles/{article_id:path}", tags=["articles"])
    def delete_article(article_id: Annotated[str, Path(max_length=512)]) -> dict[str, Any]:
        """Remove one article from the index (admin token)."""
        return {"article_id": article_id, "passages_deleted": service.delete_article(article_id)}

    @api.post(
        "/api/articles",
        tags=["articles"],
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


def _history(body: AskRequest) -> list[tuple[str, str]]:
    return [(t.question, t.answer) for t in body.history]


def _filters(body: AskRequest) -> Filters | None:
    if body.filters is None:
        return None
    f = body.filters
    filters = Filters(tuple(f.sources), tuple(f.languages), f.date_from, f.date_to)
    filters.where()  # raises BadRequest on a malformed date
    return filters


def _events(stream: Iterator[Event]) -> Iterator[str]:
    try:
        for event in stream:
            if isinstance(event, Status):
                yield _sse("status", {"stage": event.stage, "passages": event.passages, "place": event.place})
            elif isinstance(event, Token):
                yield _sse("token", {"text": event.text})
            elif isinstance(event, Reset):
                yield _sse("reset", {"reason": event.reason})
            elif isinstance(event, Final):
                yield _sse("answer", event.answer.to_dict())
    except Exception as e:  # the status line is already sent: report the error as an event
        problem = classify(e)
        if problem.unexpected:
            logger.exception("Streaming an answer failed")
        yield _sse("error", {"error": {"code": problem.code, "message": problem.message}})


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


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
        problem = classify(e)
        return _error(problem.status, problem.code, problem.message)

    # Handled here, these keep the connection open (a handler for Exception runs only after
    # Starlette's error middleware has given up on the request, and it drops the connection).
    for kind in (QAError, IndexingError):
        api.add_exception_handler(kind, expected)

    @api.exception_handler(Exception)
    async def failed(request: Request, e: Exception) -> JSONResponse:
        logger.error("Request %s failed", request.url.path, exc_info=e)
        problem = classify(e)
        return _error(problem.status, problem.code, problem.message)
