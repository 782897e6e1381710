"""A question made ready for answering, once: cleaned, its language and script known, its vector encoded.

Every later step (retrieval, evidence, generation, citation checks) takes the :class:`Query`
rather than the raw text, so nothing cleans, detects or embeds the question twice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from index.arabic import normalize
from index.embeddings import Encoder
from index.language import is_arabic_script, question_language
from qa.errors import BadQuestion
from qa.types import Hit

MAX_QUESTION_CHARS = 2000
# Languages written in Arabic script (the language codes articles carry).
ARABIC_SCRIPT_LANGS = ("ar", "fa", "ur", "ps", "ckb", "ku", "ug", "sd", "arz", "ary", "apc", "acm")


@dataclass(frozen=True, eq=False)
class Query:
    """A cleaned question with its answer language, its script and its vector."""

    text: str
    lang: str  # the language the answer is written in
    arabic: bool  # written in Arabic script (decides which BM25 votes count and which thresholds apply)
    vector: np.ndarray


def crosses_scripts(query: Query, hit: Hit) -> bool:
    """Whether the passage is written in the other script than the question (Arabic script or not)."""
    return (hit.lang in ARABIC_SCRIPT_LANGS) != query.arabic


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


_REFERS_EN = re.compile(
    r"^(?:and|also|what about|how about)\b"
    r"|\b(?:it|its|they|them|their|he|him|his|she|her|there|that|this|those|these)\b",
    re.IGNORECASE,
)
_REFERS_AR = re.compile(
    r"^(?:و(?:من|ما|ماذا|كم|اين|أين|متى|متي|هل|كيف|لماذا|لمن)|ماذا عن)(?!\w)"  # «ومن قصفها؟», «ماذا عن…»
    r"|(?<!\w)(?:هذا|هذه|ذلك|تلك|هناك|هؤلاء)(?!\w)"
    r"|\w{2,}(?:ها|هم|هن)(?!\w)"  # an attached pronoun: «سكانها», «قصفها»
)


_ASKS_NUMBER = re.compile(
    r"\b(?:how (?:many|much|long|old|far)|when|what (?:year|date|percentage|percent)|in (?:what|which) year)\b"
    r"|(?<!\w)و?(?:كم|متي|ما عدد|ما نسبه|في اي (?:عام|سنه))(?!\w)"
)


def asks_number(question: str) -> bool:
    """Whether a question asks for a number, an amount or a date ("how many…", "when…", «كم…», «متى…»)."""
    return bool(_ASKS_NUMBER.search(normalize(question)))


def refers_back(question: str) -> bool:
    """Whether a question points back at an earlier one ("and who shelled it?", «ومن قصفها؟»).

    Only such a question may borrow the earlier question's subject: "Who won the 2018 World
    Cup?" after a question about Baghouz must be searched alone (joined, it found Baghouz
    passages good enough to answer from). Languages other than English and Arabic: yes.
    """
    if is_arabic_script(question):
        return bool(_REFERS_AR.search(question))
    if question_language(question) == "en":
        return bool(_REFERS_EN.search(question))
    return True
