"""Evaluation on question sets in the format of ../shared/data/xquad: retrieval, and answers judged on their text.

A question record: ``{"id", "question", "lang", "answers", "article_id", "answer_spans",
"gold_paragraph_span"}`` (XQuAD adds ``answers_by_lang``: English questions are judged against
the English answers; ``kind`` "absent" marks a question the index should refuse). A retrieved
passage is a *hit* when it overlaps the gold paragraph span in the question's article.
``bar@2000`` (budgeted answer recall) reads the retrieved passages in rank order until 2,000
characters have been read, and counts a hit when the read text covers one of the answer spans,
so that larger passages gain nothing by being larger.

Answers are judged on what the asker reads (:func:`judge`): ``answer_exact`` (a normalised gold
answer appears in the answer text), ``answer_f1`` (SQuAD token F1 with the best gold answer),
``citation_correct`` (of the answered questions: a cited passage holds a gold span),
``answered``, and for questions the index cannot answer, ``refused_absent`` (their article is
not indexed) and ``refused_nearmiss`` (their article is, without the paragraph that answers):
:func:`holdout` makes those two kinds out of any question set.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import string
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from index.arabic import normalize
from index.embeddings import Encoder
from index.hybrid import HybridIndex
from index.ingest import Chunking, ingest
from index.loaders import article_from_record, load_paths
from index.types import Article
from qa.errors import BadRequest
from qa.query import make_queries
from qa.retrieve import Retriever
from qa.types import Answer, Hit

BUDGET_CHARS = 2000
KINDS = ("answerable", "absent", "nearmiss")


@dataclass(frozen=True)
class Question:
    """An evaluation question with where its answer is, and whether the index can answer it."""

    id: str
    question: str
    lang: str
    article_id: str
    gold: tuple[int, int]
    answer_spans: tuple[tuple[int, int], ...]
    answers: tuple[str, ...] = ()  # in the question's language where the set has them
    kind: str = "answerable"  # or "absent" (article not indexed), "nearmiss" (answering paragraph removed)

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> Question:
        """Parse one JSONL record."""
        lang = str(r.get("lang", ""))
        answers = (r.get("answers_by_lang") or {}).get(lang) or r.get("answers", [])
        return cls(
            id=str(r["id"]),
            question=str(r["question"]),
            lang=lang,
            article_id=str(r["article_id"]),
            gold=(int(r["gold_paragraph_span"][0]), int(r["gold_paragraph_span"][1])),
            answer_spans=tuple((int(a), int(b)) for a, b in r.get("answer_spans", [])),
            answers=tuple(str(a) for a in answers),
            kind=_kind(r.get("kind")),
        )


def _kind(value: Any) -> str:
    if value in (None, ""):
        return "answerable"
    if value not in KINDS:
        raise BadRequest(f"A question's kind must be one of {', '.join(KINDS)}, not {value!r}.")
    return str(value)


@dataclass
class Scores:
    """Running sums of the retrieval and answer metrics of one group of questions."""

    n: int = 0
    hit1: int = 0
    hit5: int = 0
    rr: float = 0.0
    bar: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, hits: list[Hit], q: Question) -> None:
        """Score one question's ranked passages."""
        self.n += 1
        ranks = [i for i, h in enumerate(hits) if is_hit(h, q)]
        first = ranks[0] if ranks else None
        self.hit1 += first == 0
        self.hit5 += first is not None and first < 5
        self.rr += 1.0 / (first + 1) if first is not None else 0.0
        self.bar += budgeted_answer_hit(hits, q)

    def add_answer(self, answer: Answer, q: Question) -> None:
        """Score one answer by what its asker reads."""
        self.counts.update(judge(answer, q))

    def as_dict(self) -> dict[str, float]:
        """Metrics as fractions in 0..1 (retrieval over answerable questions)."""
        n = max(self.n, 1)
        out: dict[str, float] = {
            "n": self.n,
            "hit@1": self.hit1 / n,
            "hit@5": self.hit5 / n,
            "mrr": self.rr / n,
            "bar@2000": self.bar / n,
        }
        c = self.counts
        if c["answerable"]:
            answerable, answered = c["answerable"], max(c["answered"], 1)
            out |= {
                "answered": c["answered"] / answerable,
                "answer_exact": c["answer_exact"] / answerable,
                "answer_f1": c["answer_f1"] / answerable,
                "answer_or_cited": c["answer_or_cited"] / answerable,
                "citation_correct": c["citation_correct"] / answered,
            }
        for kind in ("absent", "nearmiss"):
            if c[kind]:
                out[f"refused_{kind}"] = c[f"refused_{kind}"] / c[kind]
        return out


def judge(answer: Answer, q: Question) -> Counter[str]:
    """What one answer earns: counts to sum over a question set (``answer_f1`` is a fraction)."""
    c: Counter[str] = Counter({q.kind: 1})
    if q.kind != "answerable":
        c[f"refused_{q.kind}"] = int(answer.abstained)
        return c
    if answer.abstained:
        return c
    c["answered"] = 1
    c["answer_exact"] = int(answer_exact(answer.answer, q.answers))
    c["answer_f1"] = answer_f1(answer.answer, q.answers)  # type: ignore[assignment]
    c["answer_or_cited"] = int(answer_or_cited(answer, q))
    c["citation_correct"] = int(any(cites_gold(h, q) for h in (c_.hit for c_ in answer.citations)))
    return c


_MARKERS = re.compile(r"\[\d{1,3}\]")
_PUNCT = re.compile("[" + re.escape(string.punctuation) + "«»“”‘’،؛؟…・。、–—]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Text as answers are compared: NFKC, case, Arabic diacritics, tatweel and letter forms, no punctuation.

    [n] markers and the English articles a/an/the are dropped (as SQuAD's scorer does).
    """
    text = normalize(unicodedata.normalize("NFKC", _MARKERS.sub(" ", text)))
    return " ".join(_ARTICLES.sub(" ", _PUNCT.sub(" ", text)).split())


def answer_exact(text: str, golds: Iterable[str]) -> bool:
    """Whether a normalised gold answer appears in the normalised answer text (numbers whole)."""
    readable = f" {normalize_answer(text)} "
    for gold in (normalize_answer(g) for g in golds):
        if gold and re.search(rf"(?<![\w]){re.escape(gold)}(?![\w])", readable):
            return True
    return False


def answer_f1(text: str, golds: Iterable[str]) -> float:
    """SQuAD token F1 of the answer text against the best gold answer (short, precise answers win)."""
    tokens = normalize_answer(text).split()
    best = 0.0
    for gold in golds:
        expected = normalize_answer(gold).split()
        common = sum((Counter(tokens) & Counter(expected)).values())
        if common:
            precision, recall = common / len(tokens), common / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def answer_or_cited(answer: Answer, q: Question) -> bool:
    """Whether a gold answer appears (normalised) in the answer or in a cited passage (the earlier measure).

    A number must appear as a whole number: "55" is not found in "1955".
    """
    readable = normalize(answer.answer + "\n" + "\n".join(c.hit.text for c in answer.citations))
    for gold in (normalize(a).strip() for a in q.answers):
        if gold and (
            re.search(rf"(?<!\d){re.escape(gold)}(?!\d)", readable)
            if gold[0].isdigit() or gold[-1].isdigit()
            else gold in readable
        ):
            return True
    return False


def cites_gold(hit: Hit, q: Question) -> bool:
    """Whether the passage holds one of the question's gold answer spans."""
    return hit.article_id == q.article_id and any(hit.start <= a and b <= hit.end for a, b in q.answer_spans)


def is_hit(hit: Hit, q: Question) -> bool:
    """Whether the passage overlaps the question's gold paragraph."""
    return hit.article_id == q.article_id and hit.start < q.gold[1] and q.gold[0] < hit.end


def budgeted_answer_hit(hits: list[Hit], q: Question, budget: int = BUDGET_CHARS) -> bool:
    """Whether reading the passages in order, for ``budget`` characters, covers an answer span."""
    left = budget
    for h in hits:
        if left <= 0:
            break
        read_end = h.start + min(left, h.end - h.start)
        if h.article_id == q.article_id and any(h.start <= a and b <= read_end for a, b in q.answer_spans):
            return True
        left -= h.end - h.start
    return False


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file (``sanad feedback export`` writes one).

    A 👎 record with no gold answer (``"feedback": "down"``, ``answers`` empty) is skipped: the
    answer it carries was rejected, so there is nothing to score against until a reviewer fills
    in ``answers`` and the gold span. Keys the format does not use are ignored.
    """
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [Question.from_record(r) for r in records if r.get("feedback") != "down" or r.get("answers")]


def load_records(path: Path) -> list[dict[str, Any]]:
    """Article records from a JSONL file (``paragraph_spans`` included, when the set has them)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def limit_per_language(questions: list[Question], n: int) -> list[Question]:
    """The first ``n`` questions of each language and kind (all when ``n`` is 0), in their order."""
    if n <= 0:
        return questions
    seen: dict[tuple[str, str], int] = defaultdict(int)
    kept = []
    for q in questions:
        if seen[q.lang, q.kind] < n:
            seen[q.lang, q.kind] += 1
            kept.append(q)
    return kept


def holdout(records: list[dict[str, Any]], questions: list[Question]) -> tuple[list[dict[str, Any]], list[Question]]:
    """Split a set into thirds by article: answerable, absent (not indexed) and near-miss.

    A near-miss article is indexed without the paragraph that answers the most of its questions;
    those questions become near-misses (the topic is there, the fact is not), its other questions
    are dropped, and so is a near-miss whose answer the rest of the article still states (ARCD's
    paragraphs repeat facts: half its near-misses did). Returns the article records to index, and
    the questions with their kind.
    """
    ids = sorted(r["id"] for r in records)
    role = {aid: KINDS[i % 3] for i, aid in enumerate(ids)}
    by_article: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        by_article[q.article_id].append(q)
    indexed, kept = [], []
    for r in records:
        kind = role[r["id"]]
        if kind == "answerable":
            indexed.append(r)
            kept += by_article[r["id"]]
        elif kind == "absent":
            kept += [replace(q, kind="absent") for q in by_article[r["id"]]]
        elif by_article[r["id"]]:
            start, end = Counter(q.gold for q in by_article[r["id"]]).most_common(1)[0][0]
            rest = (r["text"][:start] + r["text"][end:]).strip()
            indexed.append({**r, "text": rest})
            kept += [
                replace(q, kind="nearmiss")
                for q in by_article[r["id"]]
                if q.gold == (start, end) and not answer_exact(rest, [r["text"][s:e] for s, e in q.answer_spans])
            ]
    order = {q.id: i for i, q in enumerate(questions)}
    return indexed, sorted(kept, key=lambda q: order[q.id])


def sample_distractors(path: Path, n: int, seed: int = 0) -> Iterator[Article]:
    """``n`` articles drawn at random (seeded) from a JSONL(.gz) pool, as articles.

    The draw is a prefix of one seeded shuffle, so a smaller pool is part of every larger one
    (and their cached vectors are shared).
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    chosen = sorted(order[:n])
    for i in chosen:
        article = article_from_record(json.loads(lines[i]), f"{path}:{i + 1}", f"distractor-{i}")
        if isinstance(article, Article):
            yield article


def build_index(
    index: HybridIndex,
    articles: Path | list[dict[str, Any]],
    distractors: Iterable[Article] = (),
    chunking: Chunking | None = None,
) -> int:
    """Ingest the evaluation articles (a JSONL file or records) and the distractors; returns the passages."""
    if isinstance(articles, Path):
        ingest(load_paths([articles]), index, chunking)
    else:
        ingest((article_from_record(r, r["id"], r["id"]) for r in articles), index, chunking)
    ingest(distractors, index, chunking)
    return index.count()


def evaluate(
    questions: list[Question],
    retriever: Retriever,
    encoder: Encoder,
    answer: Callable[[str], Answer] | None = None,
    progress: Callable[[int], None] | None = None,
    depth: int = 10,
) -> dict[str, Any]:
    """Retrieval (top ``depth``, answerable questions) and answer metrics, overall and by question language."""
    overall: Scores = Scores()
    by_lang: defaultdict[str, Scores] = defaultdict(Scores)
    queries = make_queries([q.question for q in questions], encoder)  # one batch through the model
    for i, (q, query) in enumerate(zip(questions, queries)):
        if q.kind == "answerable":
            hits = retriever.search(query, depth)
            overall.add(hits, q)
            by_lang[q.lang].add(hits, q)
        if answer is not None:
            result = answer(q.question)
            overall.add_answer(result, q)
            by_lang[q.lang].add_answer(result, q)
        if progress:
            progress(i + 1)
    return {"overall": overall.as_dict(), "by_lang": {k: v.as_dict() for k, v in sorted(by_lang.items())}}
