"""The common RAG recipe, as the yardstick: 1000/200 character chunks, dense top 4, LangChain's classic prompt.

The prompt is LangChain hub's ``rlm/rag-prompt``; the model and its settings are Sanad's (the
same local model, temperature 0), so the difference measured is the method.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_text_splitters import RecursiveCharacterTextSplitter

from bench._index import fresh_index
from index.embeddings import Encoder
from index.hybrid import HybridIndex
from index.language import question_language
from index.loaders import article_from_record
from index.types import Article, Passage, passage_id
from qa.query import make_query
from qa.retrieve import Retriever
from qa.types import Answer

PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context to answer "
    "the question. If you don't know the answer, just say that you don't know. Use three sentences maximum and "
    "keep the answer concise.\nQuestion: {question} \nContext: {context} \nAnswer:"
)
# what the recipe's model says when it does not know, in the languages asked
REFUSAL = re.compile(
    r"(don't|do not|doesn't|does not) know|not (provided|mentioned|stated|specified|available|given)|no information"
    r"|cannot (be )?(answer|determine|find)|لا أعرف|لا اعرف|لا أعلم|لا يوجد|لم يذكر|لم يتم ذكر|غير متوفر|غير مذكور",
    re.IGNORECASE,
)


def peer_index(work: Path, encoder: Encoder, records: list[dict[str, Any]], distractors: list[Article]) -> HybridIndex:
    """The same articles in 1000/200 character chunks, dense only."""
    articles = [article_from_record(r, r["id"], r["id"]) for r in records]
    return recipe_index(work, encoder, [a for a in articles if isinstance(a, Article)] + distractors, "peer")


def recipe_index(work: Path, encoder: Encoder, articles: list[Article], name: str) -> HybridIndex:
    """``articles`` split by RecursiveCharacterTextSplitter(1000, 200) and embedded, in a dense-only index."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    index = fresh_index(work, encoder, name)
    passages = []
    for article in articles:
        for n, doc in enumerate(splitter.create_documents([article.text])):
            start = doc.metadata["start_index"]
            end = start + len(doc.page_content)
            passages.append(Passage(passage_id(article, start, end), article, n, start, end, doc.page_content))
    for i in range(0, len(passages), 256):
        batch = passages[i : i + 256]
        index.dense.upsert(batch, encoder.encode_passages([p.text for p in batch]))
    return index


class PeerRecipe:
    """Answers as the recipe does: no citations, no checks; a refusal only when the model says so."""

    def __init__(self, index: HybridIndex, encoder: Encoder, chat: BaseChatModel, k: int = 4):
        """Retrieve from ``index`` with ``encoder``; ``chat`` writes."""
        self.retriever, self.encoder, self.chat, self.k = (
            Retriever(index.dense, mode="dense", trim=False),
            encoder,
            chat,
            k,
        )

    def answer(self, question: str) -> Answer:
        """The recipe's answer to ``question``."""
        started = time.perf_counter()
        hits = self.retriever.search(make_query(question, self.encoder), self.k)
        context = "\n\n".join(h.text for h in hits)
        reply = self.chat.invoke([HumanMessage(PROMPT.format(question=question, context=context))])
        text = str(reply.content).strip()
        total = (time.perf_counter() - started) * 1000
        return Answer(
            question, text, question_language(question), bool(REFUSAL.search(text)), "peer", timings_ms={"total": total}
        )
