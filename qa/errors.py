"""Errors the answering side raises; messages are written for the user and say how to fix things."""

from __future__ import annotations


class QAError(Exception):
    """Base class: shown to the user as it is."""


class ModelUnavailable(QAError):
    """A language model back end cannot be used (not installed, not reachable)."""
