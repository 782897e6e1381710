"""XQuAD the other way round: its Arabic questions about the English originals of its articles.

XQuAD's questions all point at the Arabic articles; ``articles.en.jsonl`` holds the English
originals with the same paragraphs. Asking the Arabic questions of the English articles tests
the other direction across scripts, which nothing was fitted on.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from qa.evaluate import Question, holdout, load_questions, load_records


def reverse_questions(data: Path, questions: list[Question]) -> list[Question]:
    """XQuAD's Arabic questions pointed at the same paragraph of the English original of their article."""
    return to_english(data, [q for q in questions if q.lang == "ar"])


def to_english(data: Path, questions: list[Question]) -> list[Question]:
    """XQuAD questions (either language) pointed at the same paragraph of the English original of their article.

    The answer span is the English answer's first occurrence in that paragraph (bar@2000 needs one).
    """
    articles = {}
    for name in ("articles.jsonl", "articles.en.jsonl"):
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            articles[record["id"]] = (record["text"], [tuple(span) for span in record["paragraph_spans"]])
    english_answers = {r["id"]: r["answers_by_lang"]["en"] for r in load_records(data / "questions.jsonl")}
    out = []
    for q in questions:
        english = q.article_id.replace("xquad-ar-", "xquad-en-", 1)
        text, paragraphs = articles[english]
        start, end = paragraphs[articles[q.article_id][1].index(tuple(q.gold))]
        found = [(i, i + len(a)) for a in english_answers[q.id] if (i := text.find(a, start, end)) >= 0]
        out.append(replace(q, article_id=english, gold=(start, end), answer_spans=tuple(found[:1])))
    return out


def reverse_holdout(data: Path) -> tuple[list[dict], list[Question]]:
    """The English articles split in thirds (``qa.evaluate.holdout``) and the reversed questions of each third."""
    questions = reverse_questions(data, load_questions(data / "questions.jsonl"))
    return holdout(load_records(data / "articles.en.jsonl"), questions)


def english_holdout(data: Path) -> tuple[list[dict], list[Question]]:
    """XQuAD's English originals split in thirds (``qa.evaluate.holdout``) and its English questions of each third."""
    questions = to_english(data, [q for q in load_questions(data / "questions.jsonl") if q.lang == "en"])
    return holdout(load_records(data / "articles.en.jsonl"), questions)


def half_in_english(data: Path, questions: list[Question]) -> tuple[list[dict], list[Question]]:
    """One index holding every other XQuAD article in English, the rest in Arabic, and every question about it.

    Each question is pointed at its article in the language that is indexed, and its ``lang``
    becomes the pair it tests ("en about ar"), which the bench's tables group by.
    """
    arabic = load_records(data / "articles.jsonl")
    english = {r["id"]: r for r in load_records(data / "articles.en.jsonl")}
    in_english = {r["id"] for i, r in enumerate(sorted(arabic, key=lambda r: r["id"])) if i % 2}
    records = [english[r["id"].replace("xquad-ar-", "xquad-en-", 1)] if r["id"] in in_english else r for r in arabic]
    moved = {q.id: q for q in to_english(data, [q for q in questions if q.article_id in in_english])}
    out = []
    for q in questions:
        target = "en" if q.article_id in in_english else "ar"
        out.append(replace(moved.get(q.id, q), lang=f"{q.lang} about {target}"))
    return records, out
