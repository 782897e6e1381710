"""Checking an LLM's reply in code before anyone reads it: what it cites, the numbers it states, what backs it.

The model names the evidence sentences that state its answer and copies the answer's words
from them (``qa/generate.py``). Here:

- the sentence numbers must exist;
- the copied words must appear, word for word (letters folded, punctuation ignored), in a named
  sentence, or else in another evidence sentence, which is then the one cited;
- the claim "question + answer" must be close enough to that sentence (or, when nothing was
  copied verbatim, to a named one): cosine of sentence vectors against the model's calibrated
  support threshold; else the citation moves to the evidence sentence that backs it best, if
  one does;
- every number of two or more digits in the answer must be in the cited sentences (or the question);
- an answer written in the evidence's script must share a content word with what it cites.

What passes is shown as the short answer with its [n], then the cited sentences quoted
verbatim, each with its [n]: nothing is shown as backed that a check did not back. What fails
is not shown at all: the caller quotes the evidence instead, and says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.arabic import normalize, numbers_in, tokenize
from index.embeddings import Encoder
from index.language import is_arabic_script
from qa.query import Query
from qa.types import Citation, Hit, Sentence


@dataclass(frozen=True)
class Verdict:
    """What the checks made of a reply: refused, shown (text and citations), or a problem to fall back on."""

    refused: bool = False
    text: str = ""  # appended to the streamed short answer: " [n]" and the cited sentences, quoted
    citations: list[Citation] = field(default_factory=list)
    problem: str = ""  # what failed, for the notice (e.g. "numbers not in the articles: 95")
    numbers: list[str] = field(default_factory=list)  # invented numbers, when that is the problem
    backed: list[Sentence] = field(default_factory=list)  # the evidence sentences the shown answer cites


def verify(
    fields: dict[str, Any] | None,
    chosen: list[Sentence],
    hits: list[Hit],
    query: Query,
    encoder: Encoder,
    support: Callable[[bool], float],
) -> Verdict:
    """Check a parsed reply against the sentences it was given (numbered from 1 in ``chosen``)."""
    if fields is None:
        return Verdict(problem="its reply was not in the expected form")
    if not fields["found"]:
        return Verdict(refused=True)
    answer, quote = fields["answer"], fields.get("quote", "")
    if not answer or not chosen:
        return Verdict(problem="it gave no answer")
    named = list(dict.fromkeys(chosen[n - 1] for n in fields["evidence"] if 1 <= n <= len(chosen)))
    quoted = [s for s in named if contains(s.text, quote)] or [s for s in chosen if contains(s.text, quote)][:1]
    made_up = ungrounded_numbers(answer, [query.text] + [s.text for s in (quoted or named or chosen)])
    if made_up:
        return Verdict(problem="numbers", numbers=made_up)
    # The copy says where the answer comes from; meaning says whether it answers this question: an
    # answer about something else, copied faithfully, must not pass (chat test: "population of Paris?").
    backed = _similar(answer, quoted or named, chosen, query, encoder, support)
    if not backed:
        return Verdict(problem="no evidence sentence backs its answer")
    if _same_script(answer, backed) and not set(tokenize(answer)) & set(tokenize(" ".join(s.text for s in backed))):
        return Verdict(problem="its answer shares no word with the sentences it cites")
    return _shown(backed, hits)


def contains(sentence: str, quote: str) -> bool:
    """Whether ``quote`` (with at least one content word) is in ``sentence``, word for word."""
    if not tokenize(quote):
        return False
    return f" {_words(quote)} " in f" {_words(sentence)} "


def _words(text: str) -> str:
    return " ".join(_WORD.findall(normalize(text)))


_WORD = re.compile(r"\w+")


def _similar(
    answer: str,
    named: list[Sentence],
    chosen: list[Sentence],
    query: Query,
    encoder: Encoder,
    support: Callable[[bool], float],
) -> list[Sentence]:
    """The named sentences close enough to "question + answer", or else the closest evidence sentence if it is."""
    claim = encoder.encode_passages([f"{query.text} {answer}"])[0]
    sims = np.array([float(claim @ s.vector) for s in chosen])
    threshold = support(is_arabic_script(answer))
    backed = [s for s in named if sims[chosen.index(s)] >= threshold]
    if not backed and sims.max() >= threshold:
        backed = [chosen[int(np.argmax(sims))]]  # the model pointed at the wrong sentence: point at the right one
    return backed


def _same_script(answer: str, sentences: list[Sentence]) -> bool:
    return all(is_arabic_script(s.text) == is_arabic_script(answer) for s in sentences)


def _shown(backed: list[Sentence], hits: list[Hit]) -> Verdict:
    """What follows the short answer: its [n], then each backing sentence quoted with its passage's number."""
    numbers: dict[int, int] = {}
    citations: list[Citation] = []
    for s in sorted(backed, key=lambda s: (s.hit_index, s.start)):
        if s.hit_index not in numbers:
            numbers[s.hit_index] = len(numbers) + 1
            citations.append(Citation(numbers[s.hit_index], hits[s.hit_index], s.text, s.start, s.end))
    first = numbers[backed[0].hit_index]
    quotes = "".join(
        f"\n«{s.text}» [{numbers[s.hit_index]}]" for s in sorted(backed, key=lambda s: (s.hit_index, s.start))
    )
    return Verdict(text=f" [{first}]{quotes}", citations=citations, backed=backed)


def ungrounded_numbers(answer: str, evidence: list[str]) -> list[str]:
    """Numbers of two or more digits in ``answer`` (outside [n] markers) that no evidence text contains.

    Numbers are where a small model's inventions are both frequent and checkable across
    languages: digits read the same in an English answer and an Arabic article. One-digit
    numbers are left alone (articles often spell them out as words).
    """
    known = {n for text in evidence for n in numbers_in(text)}
    claimed = numbers_in(re.sub(r"\[\d+\]", " ", answer))
    return list(dict.fromkeys(n for n in claimed if sum(c.isdigit() for c in n) >= 2 and n not in known))
