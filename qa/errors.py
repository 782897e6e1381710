"""Errors of the answering side, and the one map from any error to what its asker is told.

Messages of :class:`QAError` (and of ``index.errors.IndexingError``) are written for the user
and say how to fix things. :func:`classify` is used by the CLI, the HTTP API and the chat
alike; anything it does not know is a bug: logged with its traceback by the caller, and shown
as a generic message.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.errors import IndexingError, ModelLoadError, ModelMismatch, StoreError


class QAError(Exception):
    """Base class: shown to the user as it is."""


class BadRequest(QAError):
    """Input the service refuses (a filter, a parameter), with a message for whoever sent it."""


class BadQuestion(BadRequest):
    """The question cannot be searched for; the message says why."""


class NotFound(QAError):
    """What was asked for (an article) is not in the index."""


class NothingIndexed(QAError):
    """The index holds no passages yet."""

    def __init__(self) -> None:
        super().__init__("No articles are indexed yet: add some with 'sanad ingest PATH' (or the Articles tab).")


class ModelUnavailable(QAError):
    """A language model back end cannot be used (not installed, not configured)."""


class ModelFailed(QAError):
    """The language model server did not answer (down, refused, or slower than the timeout).

    Answers fall back to quoting the articles when this happens; it never reaches the user.
    """


GENERIC = "Something went wrong while answering; the details are in the server log."


@dataclass(frozen=True)
class Problem:
    """What the asker is told about an error: HTTP status, a stable code, a message."""

    status: int
    code: str
    message: str

    @property
    def unexpected(self) -> bool:
        """True for bugs: log them with their traceback."""
        return self.code == "internal_error"


def classify(error: BaseException) -> Problem:
    """The status, code and message for ``error``."""
    text = str(error)
    if isinstance(error, BadRequest):
        return Problem(400, "bad_request", text)
    if isinstance(error, NotFound):
        return Problem(404, "not_found", text)
    if isinstance(error, NothingIndexed):
        return Problem(409, "nothing_indexed", text)
    if isinstance(error, ModelUnavailable):
        return Problem(503, "model_unavailable", text)
    if isinstance(error, StoreError) and not isinstance(error, ModelMismatch):
        return Problem(503, "index_unavailable", text)
    if isinstance(error, ModelMismatch | ModelLoadError):
        return Problem(503, "misconfigured", text)
    if isinstance(error, QAError | IndexingError):
        return Problem(500, "error", text)
    return Problem(500, "internal_error", GENERIC)
