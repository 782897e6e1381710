"""Thresholds that depend on the embedding model, stored with the model's fingerprint.

Abstention (:meth:`Calibration.answerable`), chosen by the question and its most similar
passage: both in one script (Arabic about Arabic, English about English; in Latin script, one
language), the best passage's cosine + the best sentence's cosine + 0.2 × how much of the
question's weight (BM25 idf) the best passage holds, a word a letter off counted as held (less
0.05 when the question asks for a number or a date the best sentence does not state), against
``min_answer_one_script``; in two scripts (words cannot be looked up across them), the two
cosines + 0.15 × the second encoder's best sentence cosine against ``min_answer_other`` (for a
Latin-script question, less 0.02 × the share of its names the passage does not spell, against
``min_answer_named``);
otherwise (two scripts without the second encoder, two languages of Latin script) the best
passage's cosine against ``min_similarity_other``. Citation checking compares answer
sentences with their passages' sentences against ``support``. They were fitted for one model
(``bench/calibrate.py`` and ``bench/answerability.py``, XQuAD, confirmed on ARCD) and mean
nothing for another:
``qa/calibration.json`` keeps them by fingerprint (the model's vector of a probe sentence),
and a model with no entry gets the default ones with a warning.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from index.arabic import tokenize
from index.embeddings import Encoder, fingerprint_similarity
from index.translit import arabic_keys, latin_skeleton, name_keys, numbers

logger = logging.getLogger(__name__)
_SAME_MODEL = 0.98  # fingerprint similarity of one model on any backend (torch, bf16, int8)
# of the share of the question's weight the best passage holds, words a letter off counted (coverage(fuzzy=True)):
# fitted on XQuAD with 0 and 1,000 distractors, confirmed on ARCD (native text, where typos made 0.2 worse before)
COVERAGE_WEIGHT = 0.2
NUMBER_WEIGHT = 0.05  # a number asked, none in the best sentence: fit XQuAD, confirmed on ARCD and English
FUZZY_MIN = 5  # letters: a shorter word one letter off is as often another word
SECOND_WEIGHT = 0.15  # of the second encoder's cosine, across scripts: fit XQuAD English, confirmed XQuAD reversed
# × the share of a Latin-script question's names and numbers its Arabic-script passage does not spell: fit on
# XQuAD English at 0 and 1,000 distractors (best of 0.01-0.2 at both); no English set on native text to confirm on
NAMES_WEIGHT = 0.02


@dataclass(frozen=True)
class Calibration:
    """Similarity thresholds for one embedding model, by question (or answer) script."""

    min_answer_one_script: float = 1.74
    min_similarity_other: float = 0.77
    support_arabic: float = 0.87
    support_other: float = 0.84
    min_answer_other: float = 1.59
    min_answer_named: float = 1.585  # across scripts, when the question's names can be read (Latin script)
    fitted: str = ""  # how and where; "" when these are defaults for an uncalibrated model

    def answerable(
        self,
        one_script: bool,
        passage: float,
        sentence: float,
        coverage: float,
        second: float | None = None,
        number_missing: bool = False,
        names_missing: float | None = None,
    ) -> bool:
        """Whether the articles are taken to answer, from the best passage's and sentence's cosines.

        ``one_script``: the question and its best passage are in one script; then ``coverage``
        (the share of the question's idf weight whose words the best passage holds, a word a
        letter off included: :func:`coverage` with ``fuzzy``) counts too. Fitted on XQuAD's
        Arabic questions and confirmed on ARCD; it holds unchanged for English questions about
        English articles (XQuAD's English originals, docs/benchmarks.md "answerability").
        Cosines across scripts run lower, so a pair in two scripts has thresholds fitted on
        English questions about Arabic articles: with ``second`` (the second encoder's best sentence cosine, known
        when scripts cross), passage + sentence + SECOND_WEIGHT × second against
        ``min_answer_other``; without it, the passage's cosine alone. ``number_missing``: the
        question asks for a number or a date ("how many…", «متى…») and the best sentence states
        none; within one script it costs NUMBER_WEIGHT. ``names_missing``: across scripts, the
        share of a Latin-script question's names and numbers the passage does not spell
        (:func:`names_missing`); it costs NAMES_WEIGHT × that share, against ``min_answer_named``.
        None when the question's names cannot be read (Arabic script has no capitals): then
        ``min_answer_other``, fitted without them, as before.
        """
        if one_script:
            score = passage + sentence + COVERAGE_WEIGHT * coverage - NUMBER_WEIGHT * number_missing
            return score >= self.min_answer_one_script
        if second is not None:
            score = passage + sentence + SECOND_WEIGHT * second
            if names_missing is None:
                return score >= self.min_answer_other
            return score - NAMES_WEIGHT * names_missing >= self.min_answer_named
        return passage >= self.min_similarity_other

    def support(self, arabic: bool) -> float:
        """Claim-to-sentence similarity that counts as support."""
        return self.support_arabic if arabic else self.support_other


def load_entries() -> list[dict[str, Any]]:
    """The stored calibrations."""
    return list(json.loads(files("qa").joinpath("calibration.json").read_text(encoding="utf-8")))


def calibration_for(encoder: Encoder) -> Calibration:
    """The calibration stored for ``encoder``'s model, or the defaults with a warning."""
    fingerprint = encoder.fingerprint()
    for entry in load_entries():
        if fingerprint_similarity(entry["fingerprint"], fingerprint) >= _SAME_MODEL:
            return Calibration(**entry["thresholds"], fitted=entry["fitted"])
    logger.warning(
        "No calibration for the embedding model %r: answers are refused or accepted with thresholds fitted "
        "for multilingual-e5-small, which may refuse too much or too little. Fit them with bench/calibrate.py.",
        encoder.name,
    )
    return Calibration()


def coverage(
    question: str,
    passage: str,
    idf: Callable[[list[str]], dict[str, float]] | None,
    given: str = "",
    fuzzy: bool = False,
) -> float:
    """The share of the question's content words, weighted by ``idf`` (all 1 without it), found in ``passage``.

    ``given``: words the passage answers for without holding them (the date a question names,
    when every passage was filtered to that period by its article's date). ``fuzzy``: a word of
    FUZZY_MIN letters or more is also found when it and a passage word become one word by dropping
    at most one letter each (a typo, a clitic the tokenizer left, a pronoun suffix).
    """
    asked = list(dict.fromkeys(tokenize(question)))
    if not asked:
        return 0.0
    weights = idf(asked) if idf is not None else dict.fromkeys(asked, 1.0)
    total = sum(weights.values())
    held = set(tokenize(passage)) | set(tokenize(given))
    near = _one_letter_off(held) if fuzzy else set()

    def found(token: str) -> bool:
        return token in held or (len(token) >= FUZZY_MIN and not near.isdisjoint(_deletions(token) | {token}))

    return sum(w for t, w in weights.items() if found(t)) / total if total > 0 else 0.0


def names_missing(question: str, passage: str, given: str = "") -> float:
    """The share of a Latin-script question's names and numbers that an Arabic-script ``passage`` does not spell.

    Words cannot be looked up across scripts, names can (``index.translit``: "Baghouz" and
    «الباغوز» share a consonant skeleton). 0 when the question has none. Names are read from
    capitals, so the answerer asks this for Latin-script questions only (what was measured).
    ``given``: the question's date words, when the passage was found among that period's articles
    (its article's date answers for "December", "2018").
    """
    keys = name_keys(question) - {latin_skeleton(w) for w in given.split()} - numbers(given)
    return len(keys - arabic_keys(passage)) / len(keys) if keys else 0.0


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_letter_off(words: set[str]) -> set[str]:
    """``words`` (of FUZZY_MIN - 1 letters or more) and their one-letter deletions.

    A word u meets one of ``words`` w when u or one of u's deletions is here: u is w less a letter
    (w's deletions hold u), w is u less a letter (w is here), or one letter dropped from each
    makes them one word (a letter changed, or one added at each end: «لجنازه» and «جنازته»).
    """
    out = {w for w in words if len(w) >= FUZZY_MIN - 1}
    for w in words:
        if len(w) >= FUZZY_MIN:
            out |= _deletions(w)
    return out
