"""A question made ready for answering, once: cleaned, its language and script known, its vector encoded.

Every later step (retrieval, evidence, generation, citation checks) takes the :class:`Query`
rather than the raw text, so nothing cleans, detects or embeds the question twice.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from index.embeddings import Encoder
from index.language import is_arabic_script, question_language
from qa.errors import BadQuestion

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True, eq=False)
class Query:
    """A cleaned question with its answer language, its script and its vector."""

    text: str
    lang: str  # the language the answer is written in
    arabic: bool  # written in Arabic script (decides which BM25 votes count and which thresholds apply)
    vector: np.ndarray


def clean_question(question: str) -> str:
    """The question with white space folded and control characters dropped.

    Raises :class:`BadQuestion` when nothing is left or it is too long.
    """
    question = " ".join("".join(c for c in question if c.isspace() or unicodedata.category(c) != "Cc").split())
    if not question:
        raise BadQuestion("The question is empty: type a question about the articles.")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadQuestion(f"The question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS}).")
    return question


def make_query(question: str, encoder: Encoder) -> Query:
    """Clean, classify and embed one question."""
    return make_queries([question], encoder)[0]


def make_queries(questions: list[str], encoder: Encoder) -> list[Query]:
    """Clean, classify and embed several questions (one batch through the model)."""
    texts = [clean_question(q) for q in questions]
    unique = list(dict.fromkeys(texts))  # a question asked twice is embedded once
    vectors = dict(zip(unique, encoder.encode_queries(unique)))
    return [Query(t, question_language(t), is_arabic_script(t), vectors[t]) for t in texts]
