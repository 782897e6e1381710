"""Errors the answering side raises; messages are written for the user and say how to fix things."""

from __future__ import annotations


class QAError(Exception):
    """Base class: shown to the user as it is."""


class NothingIndexed(QAError):
    """The index holds no passages yet."""

    def __init__(self) -> None:
        super().__init__("No articles are indexed yet: add some with 'sanad ingest PATH' (or the Articles tab).")


class ModelUnavailable(QAError):
    """A language model back end cannot be used (not installed, not reachable)."""
