"""Errors of the index layer. Messages are written for the person who runs Sanad and say what to do.

Everything ``index/`` raises for a reason the user can fix derives from :class:`IndexingError`;
``qa/errors.py`` maps them to statuses and messages for the CLI, the API and the chat.
"""

from __future__ import annotations


class IndexingError(Exception):
    """Base class: the index, its store or its embedding model cannot do what was asked."""


class StoreError(IndexingError):
    """The passage store cannot be used."""


class StoreUnavailable(StoreError):
    """The Chroma server cannot be reached, or refuses us."""


class ModelMismatch(StoreError):
    """The collection was built with another embedding model: its vectors would be garbage."""


class ModelLoadError(IndexingError):
    """The embedding model could not be found, converted or loaded."""


class UnreadableInput(IndexingError):
    """An input file or record cannot be read as an article (loaders turn this into a rejection)."""
