"""Retrieval evaluation on question sets in the format of ../shared/data/xquad.

A question record: ``{"id", "question", "lang", "answers", "article_id", "answer_spans",
"gold_paragraph_span"}``. A retrieved passage is a *hit* when it overlaps the gold paragraph
span in the question's article. ``bar@2000`` (budgeted answer recall) reads the retrieved
passages in rank order until 2,000 characters have been read, and counts a hit when the read
text covers one of the answer spans, so that larger passages gain nothing by being larger.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.arabic import normalize
from index.embeddings import Encoder
from index.hybrid import HybridIndex
from index.ingest import Chunking, ingest
from index.loaders import article_from_record, load_paths
from index.types import Article
from qa.query import make_queries
from qa.retrieve import Retriever
from qa.types import Answer, Hit

BUDGET_CHARS = 2000


@dataclass(frozen=True)
class Question:
    """An evaluation question with where its answer is."""

    id: str
    question: str
    lang: str
    article_id: str
    gold: tuple[int, int]
    answer_spans: tuple[tuple[int, int], ...]
    answers: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> Question:
        """Parse one JSONL record."""
        return cls(
            id=str(r["id"]),
            question=str(r["question"]),
            lang=str(r.get("lang", "")),
            article_id=str(r["article_id"]),
            gold=(int(r["gold_paragraph_span"][0]), int(r["gold_paragraph_span"][1])),
            answer_spans=tuple((int(a), int(b)) for a, b in r.get("answer_spans", [])),
            answers=tuple(str(a) for a in r.get("answers", [])),
        )


@dataclass
class Scores:
    """Running sums of the retrieval metrics."""

    n: int = 0
    hit1: int = 0
    hit5: int = 0
    rr: float = 0.0
    bar: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def add(self, hits: list[Hit], q: Question) -> None:
        """Score one question's ranked passages."""
        self.n += 1
        ranks = [i for i, h in enumerate(hits) if is_hit(h, q)]
        first = ranks[0] if ranks else None
        self.hit1 += first == 0
        self.hit5 += first is not None and first < 5
        self.rr += 1.0 / (first + 1) if first is not None else 0.0
        self.bar += budgeted_answer_hit(hits, q)

    def as_dict(self) -> dict[str, float]:
        """Metrics as fractions in 0..1."""
        n = max(self.n, 1)
        base = {
            "n": self.n,
            "hit@1": self.hit1 / n,
            "hit@5": self.hit5 / n,
            "mrr": self.rr / n,
            "bar@2000": self.bar / n,
        }
        return base | {k: v / n for k, v in self.extra.items()}


def add_answer(scores: Scores, answer: Answer, q: Question) -> None:
    """Score one answer: accuracy, citation correctness and abstention (sums, divided by n later)."""
    extra = scores.extra
    for key in ("answer_accuracy", "citation_correct", "abstained"):
        extra.setdefault(key, 0.0)
    if answer.abstained:
        extra["abstained"] += 1
        return
    extra["answer_accuracy"] += answer_is_accurate(answer, q)
    extra["citation_correct"] += any(is_hit(c.hit, q) for c in answer.citations)


def answer_is_accurate(answer: Answer, q: Question) -> bool:
    """Whether a gold answer string appears (normalised) in the answer or in a cited passage.

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
    """Questions from a JSONL file."""
    with open(path, encoding="utf-8") as f:
        return [Question.from_record(json.loads(line)) for line in f if line.strip()]


def limit_per_language(questions: list[Question], n: int) -> list[Question]:
    """The first ``n`` questions of each language (all when ``n`` is 0), in their order."""
    if n <= 0:
        return questions
    seen: dict[str, int] = defaultdict(int)
    kept = []
    for q in questions:
        if seen[q.lang] < n:
            seen[q.lang] += 1
            kept.append(q)
    return kept


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
    index: HybridIndex, articles: Path, distractors: Iterable[Article] = (), chunking: Chunking | None = None
) -> int:
    """Ingest the evaluation articles and the distractors; returns the number of passages."""
    ingest(load_paths([articles]), index, chunking)
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
    """Run every question through ``retriever`` (top ``depth``) and ``answer``; metrics overall and by language."""
    overall: Scores = Scores()
    by_lang: defaultdict[str, Scores] = defaultdict(Scores)
    queries = make_queries([q.question for q in questions], encoder)  # one batch through the model
    for i, (q, query) in enumerate(zip(questions, queries)):
        hits = retriever.search(query, depth)
        overall.add(hits, q)
        by_lang[q.lang].add(hits, q)
        if answer is not None:
            result = answer(q.question)
            add_answer(overall, result, q)
            add_answer(by_lang[q.lang], result, q)
        if progress:
            progress(i + 1)
    return {"overall": overall.as_dict(), "by_lang": {k: v.as_dict() for k, v in sorted(by_lang.items())}}
