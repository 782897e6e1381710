"""News is dated and attributed: what a question asks about time, whose claim a sentence is, when reports differ.

- :func:`asked_when`: a question about the present ("who controls…", "is … still", «حالياً»,
  present-tense verbs, no date), about a date or period ("in December 2018", «في ديسمبر 2018»),
  or neither (past tense without a date);
- :func:`by_time`: among the sentences that answer about as well as the best one, the newest
  report first for present questions, and for dated ones those whose article date (or a date the
  passage itself gives, read against the article's date) falls in the period;
- :func:`attribution`: "According to Al Watan (10 Dec 2018): " / «بحسب الوطن (10 ديسمبر 2018): »,
  from the cited article's source and date, and "(undated)" when it has none;
- :func:`other_reports`: dated reports of other articles that answer about as well as the
  cited one but differently (:func:`differ`: other numbers, or without the answer the other gives).

The rules are word lists and margins, not a model: they read English and Arabic; other
languages get no time reading (questions are then answered by similarity alone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from index.arabic import normalize, numbers_in, tokenize
from index.dates import Period, find_dates, of_iso
from index.language import is_arabic_script
from prompts import load, message
from qa.types import Hit, Sentence

ANSWERING_MARGIN = 0.04  # a sentence this close to the best one's similarity answers the question too
OTHER_MARGIN = ANSWERING_MARGIN  # ... and one of another article this close to a cited one is another report
SAME_CLAIM = 0.93  # two sentences this similar (cosine) say the same thing, even in other words
SAME_TOPIC = 0.85  # two sentences in different scripts this similar report on the same thing

# Words that say "now" and nothing of the topic (normalised as index.arabic.tokenize leaves them).
_TIME_WORDS = frozenset(
    tokenize(
        "now currently current still today nowadays presently latest anymore moment present yet "
        "حالياً الآن اليوم الحالي الحالية الراهن يزال تزال زال زالت مازال مازالت لازال لازالت أحدث آخر"
    )
)
_PRESENT_EN = re.compile(
    r"\b(now|currently|current|still|today|nowadays|presently|latest|anymore|these days|at present|"
    r"at the moment|so far|as of)\b"
)
_PRESENT_VERB_EN = re.compile(
    r"^(?:(?:who|what)\s+\w+[^s]s|(?:who|what|which|where|how many|how much)\s+(?:\w+\s+){0,3}?"
    r"(?:is|are|'s|does|do|has|have))\b"
)
_PAST_EN = re.compile(r"\b(was|were|did|had|ago|then|used to|at the time|formerly)\b|^\w+\s+\w+ed\b")
_PRESENT_AR = re.compile(
    r"(?<!\w)(حاليا|الان|اليوم|الحالي|الحاليه|الراهن|حتي الان|لا يزال|لا تزال|ما زال|ما زالت|مازال|مازالت|لازال|"
    r"لازالت|لا زال|لا زالت|اخر|احدث|بعد الان)(?!\w)"
)
# an imperfect (present) verb after the question word: «من يسيطر», «هل تزال»; not nouns in ت (تاريخ, تعداد…)
_PRESENT_VERB_AR = re.compile(
    r"^(?:من|ما|ماذا|اي|كم|هل|اين|لمن|بيد من)(?:\s+\w+){0,3}?\s+(?:لا\s+)?[يت](?!م(?!\w)|اريخ|عداد|رتيب|كلفه)\w{2,}"
    r"|^(?:من|ما)\s+(?:هو|هي|هم)(?!\w)"  # a nominal question: «من هو الفائز…»
)
_PAST_AR = re.compile(r"(?<!\w)(كان|كانت|كانوا|سابقا|انذاك|حينها|وقتها|حينئذ)(?!\w)")


@dataclass(frozen=True)
class When:
    """What a question asks about time: ``present``, ``dated`` (with ``date_int`` bounds) or ``any``."""

    kind: Literal["present", "dated", "any"] = "any"
    first: int = 0
    last: int = 0

    def where(self, where: dict[str, Any] | None) -> dict[str, Any] | None:
        """``where`` narrowed to articles dated in the period (for a dated question; else ``where``)."""
        if self.kind != "dated":
            return where
        period = {"$and": [{"date_int": {"$gte": self.first}}, {"date_int": {"$lte": self.last}}]}
        return {"$and": [where, period]} if where else period


def asked_when(question: str) -> When:
    """Whether ``question`` asks about the present, about a date or period it names, or neither."""
    dates = find_dates(question)
    if dates:
        return When("dated", min(p.first for p in dates), max(p.last for p in dates))
    folded = " ".join(normalize(question).replace("؟", " ").replace("?", " ").split())
    if is_arabic_script(question):
        present = _PRESENT_AR.search(folded) or (_PRESENT_VERB_AR.match(folded) and not _PAST_AR.search(folded))
    else:
        present = _PRESENT_EN.search(folded) or (_PRESENT_VERB_EN.match(folded) and not _PAST_EN.search(folded))
    return When("present") if present else When()


def article_period(hit: Hit) -> Period | None:
    """The period of a hit's article date, when it is an ISO date."""
    return of_iso(hit.date) if hit.date else None


def mentions(hit: Hit, sentence: Sentence | None, when: When) -> bool:
    """Whether the article is dated in the asked period, or the sentence (else passage) names a date in it."""
    own = article_period(hit)
    if own is not None and own.overlaps(when.first, when.last):
        return True
    text = sentence.text if sentence is not None else hit.text
    return any(p.overlaps(when.first, when.last) for p in find_dates(text, hit.date))


def by_time(
    ranked: list[Sentence], hits: list[Hit], when: When, question: str = "", margin: float = ANSWERING_MARGIN
) -> list[Sentence]:
    """``ranked`` (best first) with the sentences that answer about as well as the best put in time order.

    Present questions: the dated reports on the question's topic (:func:`on_topic`) newest
    first, in the places they held. An undated sentence keeps its place: in a collection that
    mixes reference text with news, putting every dated sentence first put news above the
    encyclopedia's answer (ARCD with 1,000 news articles). A newer report about something else
    is not promoted for sharing "closed" with the question.
    Dated questions: sentences of the asked period first. Other questions, or a single
    answering sentence: unchanged.
    """
    if when.kind == "any" or len(ranked) < 2:
        return ranked
    n = sum(s.rank >= ranked[0].rank - margin for s in ranked)  # ranked is sorted: they are its first n
    answering, rest = list(ranked[:n]), ranked[n:]
    if when.kind == "present":  # dated reports on the question's topic newest first, in the places they held
        slots = [i for i, s in enumerate(answering) if report_day(hits[s.hit_index]) and on_topic(s, question)]
        dated = sorted((answering[i] for i in slots), key=lambda s: -report_day(hits[s.hit_index]))
        for i, s in zip(slots, dated):
            answering[i] = s
        return answering + rest
    key = [(0 if mentions(hits[s.hit_index], s, when) else 1, i) for i, s in enumerate(answering)]
    return [answering[i] for i in sorted(range(len(answering)), key=lambda i: key[i])] + rest


def on_topic(sentence: Sentence, question: str) -> bool:
    """Whether the sentence has at least half of the question's content words besides its time words.

    ("still", «حالياً» say nothing of the topic.) Across scripts words cannot tell: then it is
    taken to be.
    """
    if is_arabic_script(sentence.text) != is_arabic_script(question):
        return True
    asked = set(tokenize(question)) - _TIME_WORDS
    return len(asked & set(tokenize(sentence.text))) >= max(1, (len(asked) + 1) // 2)


def report_day(hit: Hit) -> int:
    """The article's date as a number to sort by (a month counts as its first day); 0 when undated."""
    p = article_period(hit)
    return p.first if p is not None else 0


def newest_first(sentences: list[Sentence], hits: list[Hit]) -> list[Sentence]:
    """``sentences`` with the newest article's first (stable; undated last)."""
    return sorted(sentences, key=lambda s: -report_day(hits[s.hit_index]))


def shown_date(date: str, lang: str) -> str:
    """An ISO date as people read it: "10 Dec 2018" / «10 ديسمبر 2018»; other text as given."""
    p = of_iso(date) if date else None
    if p is None:
        return date
    year, month, day = p.first // 10000, p.first // 100 % 100, p.first % 100
    months = message("month_names", lang).split()
    name = months[month - 1] if month and len(months) == 12 else ""
    return " ".join(str(x) for x in (day if day and p.first == p.last else "", name, year) if x)


def _attribution_pattern() -> re.Pattern[str]:
    templates = load("messages")["according_to"].values()
    forms = [re.escape(t).replace(r"\{who\}", ".+?").replace(r"\{when\}", r"[^()\n]*") for t in templates]
    return re.compile("^(?:" + "|".join(forms) + ")")


def attribution(hit: Hit, lang: str) -> str:
    """Whose report this is and when, to lead an answer or a quote: "According to Al Watan (10 Dec 2018): "."""
    who = hit.source or message("an_article", lang)  # the title is in the sources panel: too long to lead with
    when = shown_date(hit.date, lang) or message("undated", lang)
    return message("according_to", lang, who=who, when=when)


def same_topic(a: Sentence, b: Sentence, question: str) -> bool:
    """Whether ``a`` and ``b`` report on the same thing.

    In one script: they share a content word beyond the question's, or two of the question's
    ("killed … has risen to 19" and "death toll … at 31" both name the floods of the question).
    Across scripts: their vectors are close (cosine :data:`SAME_TOPIC`).
    """
    if is_arabic_script(a.text) != is_arabic_script(b.text):
        return float(np.dot(a.vector, b.vector)) >= SAME_TOPIC
    q = set(tokenize(question)) - _TIME_WORDS
    shared = set(tokenize(a.text)) & set(tokenize(b.text))
    return bool(shared - q) or len(shared & q) >= 2


def strip_attribution(line: str) -> str:
    """``line`` without a leading "According to <who> (<when>): " (in any language the messages have)."""
    return _ATTRIBUTION.sub("", line, count=1)


def differ(a: Sentence, b: Sentence, question: str, answer: str = "") -> bool:
    """Whether ``a`` and ``b``, two reports on the same thing, answer ``question`` differently.

    They differ when each gives numbers the question does not and none are shared; or, given
    the short ``answer`` taken from ``a``, when ``b`` (same script) has none of its words; or,
    without one, when ``b`` is no paraphrase of ``a`` (cosine below :data:`SAME_CLAIM`) and
    shares less than half of its content words beyond the question's.
    """
    asked = set(numbers_in(question))
    na, nb = set(numbers_in(a.text)) - asked, set(numbers_in(b.text)) - asked
    if na and nb:
        return na.isdisjoint(nb)
    if float(np.dot(a.vector, b.vector)) >= SAME_CLAIM or is_arabic_script(a.text) != is_arabic_script(b.text):
        return False  # the same claim, or words that cannot be compared across scripts
    q = set(tokenize(question))
    if answer:
        words = set(tokenize(answer)) - q
        return bool(words) and not words & set(tokenize(b.text))
    wa, wb = set(tokenize(a.text)) - q, set(tokenize(b.text)) - q
    return len(wa & wb) < 0.5 * min(len(wa), len(wb))


def other_reports(
    cited: list[Sentence], ranked: list[Sentence], hits: list[Hit], question: str, answer: str = ""
) -> list[Sentence]:
    """Sentences of other articles that answer about as well as ``cited`` but say something else.

    One per article, newest first; ``ranked``: the evidence, best first. Only dated
    articles are reports: undated text (an encyclopedia) is not set against another. "As well"
    is checked twice, since one sentence can match a question by chance: its passage must be
    about as similar to the question as the cited one's, and so must the sentence; and it must
    hold half of the question's words (:func:`on_topic`), report on the same thing as a cited
    sentence (:func:`same_topic`) and differ from every cited sentence it shares the topic with.
    """
    cited = [s for s in cited if report_day(hits[s.hit_index])]  # an undated sentence is set against nothing
    if not cited:
        return []
    articles = {hits[s.hit_index].article_id for s in cited}
    floor = max(s.score for s in cited) - OTHER_MARGIN
    topic = max(hits[s.hit_index].similarity for s in cited) - ANSWERING_MARGIN
    found: dict[str, Sentence] = {}
    for s in ranked:
        hit = hits[s.hit_index]
        if s.score < floor or hit.similarity < topic or hit.article_id in articles or hit.article_id in found:
            continue
        if not report_day(hit) or not on_topic(s, question):
            continue
        related = [c for c in cited if same_topic(c, s, question)]
        if related and all(differ(c, s, question, answer) for c in related):
            found[hit.article_id] = s
    return newest_first(list(found.values()), hits)


_ATTRIBUTION = _attribution_pattern()
