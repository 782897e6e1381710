"""Retrieval of passages for a question (dense, cross-lingual, through LangChain's Chroma)."""

from __future__ import annotations

from typing import Any

from index.store import PassageStore
from qa.types import Hit

MAX_QUESTION_CHARS = 2000


class BadQuestion(ValueError):
    """The question cannot be searched for; the message says why."""


def retrieve(store: PassageStore, question: str, k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
    """The ``k`` passages closest in meaning to ``question``, best first (score = cosine similarity)."""
    question = " ".join(question.split())
    if not question:
        raise BadQuestion("The question is empty: type a question about the articles.")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadQuestion(f"The question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS}).")
    vector = store.embeddings.encode_queries([question])[0].tolist()
    results = store.vectorstore.similarity_search_by_vector_with_relevance_scores(vector, k=k, filter=where)
    return [Hit.from_document(str(doc.id), doc.page_content, doc.metadata, 1.0 - dist) for doc, dist in results]
