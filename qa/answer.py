"""Answers: retrieve, decide whether the articles answer at all, then write the answer with citations.

Back ends: ``extractive`` quotes the best evidence sentences verbatim (always available);
``llm`` back ends (qa/generate.py) write a short answer from the evidence and fall back to
extractive, with a notice, when the model is down or slow, or when its answer states a number
that none of the passages it read contains.
"""

from __future__ import annotations

import collections.abc
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from index.language import is_arabic_script, question_language
from prompts import message
from qa.citations import check_answer, parse_markers, render
from qa.errors import NothingIndexed
from qa.extractive import Evidence, evidence_sentences, pick
from qa.generate import Generator, evidence_items, messages_for
from qa.retrieve import Retriever, clean_question
from qa.types import Answer, Citation, Hit, Token

logger = logging.getLogger(__name__)

Turn = tuple[str, str]  # (user question, assistant answer)


@dataclass(frozen=True)
class AnswerConfig:
    """How much to read and when to abstain."""

    k: int = 5
    max_sentences: int = 3
    # Abstain when the best passage's cosine similarity is below these; calibrated on XQuAD by
    # balanced accuracy, two-fold (bench/calibrate.py, docs/benchmarks.md). Cross-lingual
    # similarities run lower than same-script ones, hence one value per question script.
    min_score_arabic: float = 0.83
    min_score_other: float = 0.77
    llm_sentences: int = 4  # evidence sentences the LLM reads
    # What the LLM reads: the chosen evidence sentences ("sentences"), or the whole passages they
    # come from ("passages"). Measured in docs/benchmarks.md (answers-local).
    llm_context: str = "sentences"
    # Claim-to-sentence similarity that counts as support, by answer script (calibrated likewise).
    support_arabic: float = 0.87
    support_other: float = 0.84


class Answerer:
    """Turns a question (and the chat so far) into an :class:`Answer`."""

    def __init__(self, retriever: Retriever, config: AnswerConfig | None = None, generator: Generator | None = None):
        """Answer from ``retriever``'s passages; with ``generator``, an LLM writes the answer."""
        self.retriever = retriever
        self.config = config or AnswerConfig()
        self.embeddings = retriever.store.embeddings
        self.generator = generator

    def with_k(self, k: int) -> Answerer:
        """The same answerer reading ``k`` passages per question."""
        if not 1 <= k <= 50:
            raise ValueError("k must be between 1 and 50")
        return Answerer(self.retriever, replace(self.config, k=k), self.generator)

    def answer(self, question: str, history: Sequence[Turn] = (), where: dict[str, Any] | None = None) -> Answer:
        """The finished answer (the last item of :meth:`answer_stream`)."""
        for item in self.answer_stream(question, history, where):
            if isinstance(item, Answer):
                return item
        raise AssertionError("answer_stream ended without an answer")

    def answer_stream(
        self, question: str, history: Sequence[Turn] = (), where: dict[str, Any] | None = None
    ) -> Iterator[Token | Answer]:
        """Yield the answer text as :class:`Token` pieces, then the finished :class:`Answer`.

        ``timings_ms`` of the answer has ``first_token``: how long the asker waited for the first text.
        """
        started = time.perf_counter()
        first_token = None
        for item in self._answer_stream(question, history, where, started):
            if first_token is None and isinstance(item, Token):
                first_token = (time.perf_counter() - started) * 1000
            if isinstance(item, Answer) and first_token is not None:
                item.timings_ms["first_token"] = first_token
            yield item

    def _answer_stream(
        self, question: str, history: Sequence[Turn], where: dict[str, Any] | None, started: float
    ) -> Iterator[Token | Answer]:
        question = clean_question(question)
        lang = question_language(question)
        hits, query = self._retrieve(question, history, where)
        if not hits and self.retriever.store.count() == 0:
            raise NothingIndexed()
        retrieved = time.perf_counter()
        timings = {"retrieve": (retrieved - started) * 1000}
        if self._abstains(hits, query):
            text = message("not_found", lang)
            yield Token(text)
            timings |= {"generate": 0.0, "total": (time.perf_counter() - started) * 1000}
            yield Answer(question, text, lang, True, "extractive", [], timings)
            return
        query_vector = self.embeddings.encode_queries([query])[0]
        evidence = evidence_sentences(query_vector, hits, self.embeddings, max_hits=self.config.k)
        answer: Answer | None = None
        notice = ""
        if self.generator is not None:
            try:
                answer = yield from self._generate(question, lang, evidence, hits)
            except UngroundedAnswer as e:  # the model made up a number: quote the articles instead
                logger.info("LLM answer with numbers not in the evidence (%s), answering extractively", e)
                notice = message("llm_ungrounded", lang, numbers=", ".join(e.numbers))
            except Exception as e:  # any failure of the model server: fall back, say why
                logger.warning("LLM back end failed, answering extractively", exc_info=True)
                notice = message("llm_unavailable", lang, reason=_reason(e))
        if answer is None:
            text, citations = extractive_answer(pick(evidence, self.config.max_sentences), hits, lang)
            if notice:
                text = f"{notice}\n\n{text}"
            yield Token(text)
            answer = Answer(question, text, lang, False, "extractive", citations, notice=notice)
        answer.timings_ms = timings | {
            "generate": (time.perf_counter() - retrieved) * 1000,
            "total": (time.perf_counter() - started) * 1000,
        }
        yield answer

    def _generate(
        self, question: str, lang: str, evidence: list[Evidence], hits: list[Hit]
    ) -> collections.abc.Generator[Token, None, Answer]:
        """Stream the LLM's answer, then check and repair its citations (the generator's return value)."""
        assert self.generator is not None
        chosen = pick(evidence, self.config.llm_sentences, margin=1.0)
        items, order = evidence_items(chosen, hits, whole_passages=self.config.llm_context == "passages")
        pieces = []
        for piece in self.generator.stream(messages_for(question, lang, items)):
            pieces.append(piece)
            yield Token(piece)
        raw = "".join(pieces).strip()
        backend = self.generator.backend
        refusal = message("not_found", lang)
        if not raw or refusal.rstrip(".。") in raw:
            return Answer(question, refusal, lang, True, backend)
        # against what the model read (not every retrieved passage: an unrelated one may hold the number)
        made_up = ungrounded_numbers(raw, [question] + [f"{item['title']} {item['text']}" for item in items])
        if made_up:
            raise UngroundedAnswer(made_up)
        # Numbers 1..m are the passages the model read; the other retrieved passages follow, so
        # a claim can be re-pointed to any of them.
        ranked = [hits[i] for i in order] + [h for i, h in enumerate(hits) if i not in order]
        threshold = self.config.support_arabic if is_arabic_script(raw) else self.config.support_other
        checked = check_answer(raw, ranked, self.embeddings, threshold)
        renumber: dict[int, int] = {}
        citations: list[Citation] = []
        for s in checked:
            for n in s.cited:
                if n not in renumber:
                    renumber[n] = len(renumber) + 1
                    quote = _quote(ranked[n - 1], s.best_quote if s.best_quote and s.best_quote[0] == n else None)
                    citations.append(Citation(renumber[n], ranked[n - 1], *quote, supported=s.supported))
        text = render([replace(s, cited=tuple(renumber[n] for n in s.cited)) for s in checked])
        claimed = [ranked[n - 1] for n in dict.fromkeys(parse_markers(raw)[1]) if 1 <= n <= len(items)]
        return Answer(question, text, lang, False, backend, citations, model_citations=claimed, model_text=raw)

    def _retrieve(self, question: str, history: Sequence[Turn], where: dict[str, Any] | None) -> tuple[list[Hit], str]:
        """Passages for the question; for a follow-up, also for it joined to the previous question.

        The reading with the stronger best passage wins, so a follow-up that changes the topic
        is searched on its own while "and who shelled it?" borrows its subject.
        """
        hits = self.retriever.retrieve(question, self.config.k, where)
        previous = next((q for q, _ in reversed(history) if q.strip()), "")
        if not previous:
            return hits, question
        joined = f"{previous} {question}"
        joined_hits = self.retriever.retrieve(joined, self.config.k, where)
        if _best(joined_hits) > _best(hits):
            return joined_hits, joined
        return hits, question

    def _abstains(self, hits: list[Hit], question: str) -> bool:
        threshold = self.config.min_score_arabic if is_arabic_script(question) else self.config.min_score_other
        return _best(hits) < threshold


class UngroundedAnswer(Exception):
    """The model's answer states numbers that none of the passages it read contain."""

    def __init__(self, numbers: list[str]):
        super().__init__(", ".join(numbers))
        self.numbers = numbers


_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NUMBER = re.compile(r"\d+(?:[.٫]\d+)?")
_GROUPED = re.compile(r"(?<=\d)[,،٬](?=\d{3}(?!\d))")


def _numbers(text: str) -> list[str]:
    text = _GROUPED.sub("", text.translate(_DIGITS))  # 17,500 and ١٧٥٠٠ are 17500
    return [n.replace("٫", ".") for n in _NUMBER.findall(text)]


def ungrounded_numbers(answer: str, evidence: list[str]) -> list[str]:
    """Numbers of two or more digits in ``answer`` (outside [n] markers) that no evidence text contains.

    Numbers are where a small model's inventions are both frequent and checkable across
    languages: digits read the same in an English answer and an Arabic article. One-digit
    numbers are left alone (articles often spell them out as words).
    """
    known = {n for text in evidence for n in _numbers(text)}
    claimed = _numbers(re.sub(r"\[\d+\]", " ", answer))
    return list(dict.fromkeys(n for n in claimed if sum(c.isdigit() for c in n) >= 2 and n not in known))


def extractive_answer(chosen: list[Evidence], hits: list[Hit], lang: str) -> tuple[str, list[Citation]]:
    """Quote the chosen sentences verbatim, each followed by the number of its passage."""
    numbers: dict[int, int] = {}
    citations: list[Citation] = []
    parts = []
    for e in chosen:
        if e.hit_index not in numbers:
            numbers[e.hit_index] = len(numbers) + 1
            citations.append(Citation(numbers[e.hit_index], hits[e.hit_index], e.text, e.start, e.end))
        parts.append(f"«{e.text}» [{numbers[e.hit_index]}]")
    return message("extractive_lead", lang) + "\n" + "\n".join(parts), citations


def _quote(hit: Hit, unit: tuple[int, int, int] | None) -> tuple[str, int, int]:
    if unit is None:
        return "", 0, 0
    _, start, end = unit
    return hit.text[start - hit.start : end - hit.start], start, end


def _reason(e: Exception) -> str:
    name = type(e).__name__
    return "timed out" if "Timeout" in name else f"{name}: {e}"[:200]


def _best(hits: list[Hit]) -> float:
    return max((h.score for h in hits), default=-1.0)
