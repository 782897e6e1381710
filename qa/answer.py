"""Answers: one path for every question, as a stream of events (``qa/types.py``).

    question → Query (cleaned, language, script, vector; qa/query.py)
             → Retriever.search (qa/retrieve.py; a follow-up also searched joined to the question before)
             → abstain when the best passage is not similar enough (qa/calibration.py)
             → Evidence: the passages' sentences, embedded once (qa/evidence.py)
             → extractive: quote the best sentences; or LLM (qa/generate.py): write from them,
               then check its numbers and [n] citations (qa/citations.py), or fall back to quotes

Back ends: ``extractive`` always works; an LLM back end falls back to extractive, with a
notice, when its server fails or times out, or when its answer states a number that none of
the passages it read contains. Only the model server's failures cause a fallback: a bug in
this code is an error, not "the model did not answer".
"""

from __future__ import annotations

import collections.abc
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from index.dates import date_words, states_number
from index.embeddings import Encoder
from prompts import message
from qa.calibration import Calibration, coverage, names_missing
from qa.citations import Verdict, verify
from qa.errors import BadRequest, ModelFailed, NothingIndexed
from qa.evidence import Evidence, extractive_answer, holds_both_scripts, own_script_penalty, pick, read_evidence
from qa.generate import Generator, Reply, evidence_items, messages_for
from qa.line import LineTooLong, ModelLine
from qa.news import ANSWERING_MARGIN, When, asked_when, attribution, by_time, newest_first, other_reports
from qa.query import Query, asks_number, crosses_scripts, make_query, refers_back
from qa.retrieve import Retriever
from qa.types import Answer, Event, Final, Hit, Reset, Sentence, Status, Token

Turn = tuple[str, str]  # (user question, assistant answer)
Writing = collections.abc.Generator[Event, None, "Answer"]  # yields the text's events, returns the answer
Attempt = collections.abc.Generator[Event, None, "Answer | str"]  # ... or the notice to quote the articles with


@dataclass(frozen=True)
class AnswerConfig:
    """How much to read and quote."""

    k: int = 5  # passages retrieved and read
    max_sentences: int = 3  # quoted by the extractive back end
    llm_sentences: int = 8  # evidence sentences the LLM reads (the answer's is among the best 8 for ~90%)
    time_aware: bool = True  # newest report first for "now", the asked period for dated questions, differing reports
    cross_order: bool = True  # across scripts, order the evidence by both encoders (qa/evidence.py), as retrieval does


class Answerer:
    """Turns a question (and the chat so far) into a stream of events ending in an :class:`Answer`."""

    def __init__(
        self,
        encoder: Encoder,
        retriever: Retriever,
        calibration: Calibration | None = None,
        config: AnswerConfig | None = None,
        generator: Generator | None = None,
        line: ModelLine | None = None,
    ):
        """Answer from ``retriever``'s passages; with ``generator``, an LLM writes the answer.

        ``line``: the queue in front of the model (one answer at a time, a wait budget).
        """
        self.encoder, self.retriever, self.generator = encoder, retriever, generator
        self.line = line or ModelLine()
        self.calibration = calibration or Calibration()
        self.config = config or AnswerConfig()

    @property
    def backend(self) -> str:
        """Which back end writes answers: ``local``, ``openai`` or ``extractive``."""
        return self.generator.backend if self.generator else "extractive"

    def answer(
        self, question: str, history: Sequence[Turn] = (), where: dict[str, Any] | None = None, k: int | None = None
    ) -> Answer:
        """The finished answer."""
        for event in self.stream(question, history, where, k):
            if isinstance(event, Final):
                return event.answer
        raise AssertionError("the answer stream ended without a Final event")

    def stream(
        self, question: str, history: Sequence[Turn] = (), where: dict[str, Any] | None = None, k: int | None = None
    ) -> Iterator[Event]:
        """Status, then Token pieces (and a Reset when they are replaced), then Final.

        The answer's ``timings_ms`` has ``first_token``: how long the asker waited for the first text.
        """
        started = time.perf_counter()
        first_token = None
        with self.line.question():
            for event in self._events(question, history, where, k, started):
                if first_token is None and isinstance(event, Token):
                    first_token = _ms(started)
                if isinstance(event, Final) and first_token is not None:
                    event.answer.timings_ms["first_token"] = first_token
                yield event

    def _events(
        self, question: str, history: Sequence[Turn], where: dict[str, Any] | None, k: int | None, started: float
    ) -> Iterator[Event]:
        if k is not None and not 1 <= k <= 50:
            raise BadRequest("k must be between 1 and 50")
        k = k or self.config.k
        timings: dict[str, float] = {}
        query = make_query(question, self.encoder)  # a bad question fails before anything is streamed
        when = asked_when(query.text) if self.config.time_aware else When()
        yield Status("searching")
        hits, searched = self._search(query, history, where, k)
        evidence, answerable = None, False
        if when.kind == "dated":  # the period's articles, when they answer (by the calibrated rule)
            dated, narrowed = self._search(query, history, when.where(where), k)
            if dated:
                read = self._read(narrowed, dated)
                if self._answerable(narrowed, dated, read, given=date_words(narrowed.text)):
                    hits, searched, evidence, answerable = dated, narrowed, read, True
        timings["retrieve"] = _ms(started)
        if not hits and self.retriever.dense.count() == 0:
            raise NothingIndexed()
        if evidence is None and hits:
            evidence = self._read(searched, hits)
            answerable = self._answerable(searched, hits, evidence)
        if evidence is None or not answerable:
            refusal = message("not_found", query.lang)
            yield Token(refusal)
            answer = Answer(query.text, refusal, query.lang, True, "extractive")
        else:
            yield Status("reading", len(hits))
            evidence = replace(evidence, ranked=by_time(evidence.ranked, hits, when, query.text))
            answer = yield from self._write(query, hits, evidence, when)
        timings["generate"] = _ms(started) - timings["retrieve"]
        timings["total"] = _ms(started)
        answer.timings_ms = timings
        yield Final(answer)

    def _read(self, query: Query, hits: list[Hit]) -> Evidence:
        """The evidence of ``hits``, ranked with the weights the retriever ranked them by."""
        cross = self.retriever.cross if self.config.cross_order else None
        r = self.retriever
        return read_evidence(query, hits, self.encoder, cross, r.cross_weight, r.own_script_bias, r.dense.sentences)

    def _answerable(self, query: Query, hits: list[Hit], evidence: Evidence, given: str = "") -> bool:
        """Whether the passages answer ``query``, by the calibrated score (``qa/calibration.py``).

        ``given``: the question's date words, when ``hits`` were filtered to that period (their
        articles' dates answer for them; the text need not repeat them).
        """
        # in both scripts, e5 prefers the question's: the most similar passage is judged without that
        both, bias = holds_both_scripts(query, hits), self.retriever.own_script_bias
        best = max(hits, key=lambda h: h.similarity - own_script_penalty(query, h, both, bias))
        across = crosses_scripts(query, best)  # the rule follows the question and its most similar passage

        # e5's cosine (what was calibrated), of the sentences in that passage's script; coverage, of
        # the first-ranked passage in it (hits[0] in an index of one script, as fitted)
        def same_side(hit: Hit) -> bool:
            return crosses_scripts(query, hit) == across

        top = max((s for s in evidence.ranked if same_side(hits[s.hit_index])), key=lambda s: s.score, default=None)
        sentence = top.score if top is not None else -1.0
        number_missing = asks_number(query.text) and not (top is not None and states_number(top.text))
        first = next(h for h in hits if same_side(h))  # best is one
        lexical = self.retriever.lexical
        covered = coverage(query.text, first.text, lexical.idf if lexical is not None else None, given, fuzzy=True)
        second = evidence.second if across else None
        missing = names_missing(query.text, best.text, given) if across and not query.arabic else None
        # the one-script rule was fitted and confirmed on Arabic about Arabic and English about
        # English; two languages in Latin script (a French question, English articles) keep the
        # passage rule they had: e5 scores across languages lower, and no set here measures it
        one_script = not across and (query.arabic or best.lang == query.lang)
        return self.calibration.answerable(
            one_script, best.similarity, sentence, covered, second, number_missing, names_missing=missing
        )

    def _search(
        self, query: Query, history: Sequence[Turn], where: dict[str, Any] | None, k: int
    ) -> tuple[list[Hit], Query]:
        """Passages for the query; for a follow-up, also for it joined to the previous question.

        Only a question that points back (``refers_back``: "and who shelled it?", «ومن قصفها؟»)
        is joined; of the two readings the one with the stronger best passage wins, so a
        follow-up that changes the topic is searched on its own.
        """
        hits = self.retriever.search(query, k, where)
        previous = next((q for q, _ in reversed(history) if q.strip()), "")
        if not previous or not refers_back(query.text):
            return hits, query
        joined = make_query(f"{previous} {query.text}", self.encoder)
        joined_hits = self.retriever.search(joined, k, where)
        if _best(joined_hits) > _best(hits):
            return joined_hits, joined
        return hits, query

    def _write(self, query: Query, hits: list[Hit], evidence: Evidence, when: When) -> Writing:
        """The answer's text events; returns the :class:`Answer` (without timings)."""
        notice = ""
        if self.generator is not None:
            answer = yield from self._generate(
                query, hits, _as_e5_ranked(evidence, hits, when, query, self.retriever.own_script_bias)
            )
            if isinstance(answer, Answer):
                return answer
            notice = answer
        timed = self.config.time_aware and when.kind != "any"
        # in time order, a sentence as good as the best within the margin by_time used is as quotable
        chosen = pick(evidence.ranked, self.config.max_sentences, ANSWERING_MARGIN if timed else 0.03)
        lead = ""
        if timed:  # in time order: the days as by_time ranked them; in one day, by passage rank (as pick)
            day = {_day_of(hits[s.hit_index]): i for i, s in reversed(list(enumerate(evidence.ranked)))}
            chosen = sorted(chosen, key=lambda s: (day[_day_of(hits[s.hit_index])], s.hit_index, s.start))
        if self.config.time_aware:
            # the first quoted article is the answer's source; other dated reports may say otherwise
            source = hits[chosen[0].hit_index].article_id if chosen else ""
            cited = [s for s in chosen if hits[s.hit_index].article_id == source]
            others = other_reports(cited, evidence.ranked, hits, query.text)
            if others:
                chosen = newest_first(chosen + [s for s in others if s not in chosen], hits)
                lead = message("reports_differ", query.lang)
        text, citations = extractive_answer(chosen, hits, query.lang, lead)
        yield Token(text)
        return Answer(query.text, text, query.lang, False, "extractive", citations, notice=notice)

    def _generate(self, query: Query, hits: list[Hit], evidence: Evidence) -> Attempt:
        """Stream the model's short answer, then check it: the checked answer, or the notice to quote instead."""
        assert self.generator is not None
        chosen = evidence.ranked[: self.config.llm_sentences]  # most similar first: the model reads them in order
        prompt = messages_for(query.text, query.lang, evidence_items(chosen, hits))
        reply, shown, unsure = Reply(), "", False
        ticket = self.line.join()
        try:
            for place in self.line.wait(ticket):
                yield Status("queued", len(hits), place)
            yield Status("writing", len(hits))
            stream = self.generator.stream(prompt, busy=self.line.busy())
            for text, logprobs in stream:
                if piece := reply.feed(text, logprobs):
                    if not shown:  # whose report: the sentence the model named, so far
                        piece = self._lead(reply.named(), chosen, hits, query.lang) + piece
                    shown += piece
                    yield Token(piece)
                unsure = reply.p_found is not None and reply.p_found < self.generator.min_p_found
                if unsure:  # refused: "found" comes first, so nothing is shown yet and the rest need not be written
                    stream.close()
                    break
        except (ModelFailed, LineTooLong) as e:
            notice = message("llm_unavailable", query.lang, reason=str(e))
            if shown:
                yield Reset(notice)
            return notice
        finally:
            self.line.leave(ticket)
        backend = self.generator.backend
        fields = reply.fields() if self.generator.structured else _unstructured(reply.raw)
        support = self.calibration.support
        verdict = Verdict(refused=True) if unsure else verify(fields, chosen, hits, query, self.encoder, support)
        if verdict.refused:
            refusal = message("not_found", query.lang)
            if shown:
                yield Reset("the articles do not say")
            yield Token(refusal)
            return Answer(query.text, refusal, query.lang, True, backend)
        if verdict.problem:
            notice = (
                message("llm_ungrounded", query.lang, numbers=", ".join(verdict.numbers))
                if verdict.numbers
                else message("llm_unchecked", query.lang, reason=verdict.problem)
            )
            if shown:
                yield Reset(notice)
            return notice
        assert fields is not None  # the checks passed it
        text, citations = verdict.text, verdict.citations
        if self.config.time_aware:
            # the copied words, not the answer: a paraphrase ("SDF" for «قسد») would look like disagreement
            said = fields.get("quote") or fields["answer"]
            others = other_reports(verdict.backed, evidence.ranked, hits, query.text, said)
            if others:
                more, extra = extractive_answer(
                    others, hits, query.lang, message("other_report", query.lang), len(citations) + 1
                )
                text, citations = f"{text}\n{more}", citations + extra
        lead = attribution(hits[verdict.backed[0].hit_index], query.lang)
        if not shown.startswith(lead):  # the checks cite another article than the model named
            if shown:
                yield Reset("attributed")
            shown = lead + fields["answer"]
            yield Token(shown)
        yield Token(text)
        return Answer(query.text, shown + text, query.lang, False, backend, citations)

    def _lead(self, named: list[int], chosen: list[Sentence], hits: list[Hit], lang: str) -> str:
        """The attribution of the first evidence sentence the model named ("" when it named none)."""
        n = next((n for n in named if 1 <= n <= len(chosen)), 0)
        return attribution(hits[chosen[n - 1].hit_index], lang) if n else ""


def _as_e5_ranked(evidence: Evidence, hits: list[Hit], when: When, query: Query, own_script_bias: float) -> Evidence:
    """The evidence in e5's order (then by time, as ever), for the model to read.

    Across scripts the quotes follow both encoders (qa/evidence.py), but the model's prompts and
    its p_found gate were fitted on e5's order: read in the other order, it refused "Who controls
    Baghouz?" (p_found < 0.75), the chat's first example. One script: the two orders are one. Both
    scripts: e5's order less its preference for the question's script, as the quotes (not measured
    with the model).
    """
    if evidence.second is None:
        return evidence
    both = holds_both_scripts(query, hits)

    by_score = sorted(
        (
            replace(s, rank=s.score - own_script_penalty(query, hits[s.hit_index], both, own_script_bias))
            for s in evidence.ranked
        ),
        key=lambda s: -s.rank,
    )
    return replace(evidence, ranked=by_time(by_score, hits, when, query.text))


def _day_of(hit: Hit) -> str:
    """The article's date; an undated article is a day of its own (by_time leaves it in its place)."""
    return hit.date or f"undated {hit.article_id}"


def _best(hits: list[Hit]) -> float:
    return max((h.similarity for h in hits), default=-1.0)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _unstructured(raw: str) -> dict[str, Any] | None:
    """A server that ignored the JSON schema: its text is the answer, citing nothing (checks re-point it)."""
    text = raw.strip()
    return {"found": bool(text), "answer": text, "evidence": []} if text else None
