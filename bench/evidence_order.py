"""Which sentences the extractive answer quotes across scripts: e5's order against e5 + the second encoder's.

The same retrieval (shipped) and the same answerer, with ``AnswerConfig.cross_order`` off or on:
``e5 order`` ranks the evidence sentences by e5-small's cosine alone (and, with no second-encoder
cosine read, refuses by the passage rule, as before); ``shipped`` adds CROSS_WEIGHT × the second
encoder's cosine (qa/evidence.py) when a passage is in the other script than the question, and
refuses by the rule that reads it (qa/calibration.py).
Sets: XQuAD's English questions about its Arabic articles (fit), and its Arabic questions about
its English originals (``reverse``, never fitted on); articles split in thirds
(``qa.evaluate.holdout``). For answerable questions: answered, the gold answer span inside a
quoted sentence (any, and the first), and a citation of the passage holding it.

    python bench/evidence_order.py --distractors 0
    python bench/evidence_order.py --smoke
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._index import asked_about, fresh_index  # noqa: E402
from bench._index import encoder as bench_encoder  # noqa: E402
from bench._report import DEFAULT_REPORT, NEWS, XQUAD, command, machine, table, update_section  # noqa: E402
from bench._reverse import reverse_holdout  # noqa: E402
from qa.engine import build_answerer  # noqa: E402
from qa.evaluate import (  # noqa: E402
    Question,
    build_index,
    cites_gold,
    holdout,
    limit_per_language,
    load_questions,
    load_records,
    sample_distractors,
)
from qa.types import Answer, Citation  # noqa: E402


def questions(name: str, limit: int, smoke: bool = False) -> tuple[list[dict], list[Question]]:
    """The articles to index and the questions (answerable, absent, near-miss) of one set.

    ``smoke``: only the articles the questions are about.
    """
    if name == "reverse":
        records, kept = reverse_holdout(XQUAD)
    else:
        english = [q for q in load_questions(XQUAD / "questions.jsonl") if q.lang == "en"]
        records, kept = holdout(load_records(XQUAD / "articles.jsonl"), english)
    kept = limit_per_language(kept, limit)
    if smoke:
        records = asked_about(records, kept)
    return records, kept


def quotes_gold(citation: Citation, q: Question) -> bool:
    """Whether the quoted sentence holds a gold answer span."""
    return citation.hit.article_id == q.article_id and any(
        citation.quote_start <= a and b <= citation.quote_end for a, b in q.answer_spans
    )


def score(answers: list[tuple[Answer, Question]]) -> list[str]:
    """answered, quote holds the answer (any / first), cites the gold passage: shares of answerable questions."""
    c: Counter[str] = Counter()
    for answer, q in answers:
        if q.kind != "answerable":
            continue
        c["n"] += 1
        if answer.abstained or not answer.citations:
            continue
        c["answered"] += 1
        c["any"] += any(quotes_gold(x, q) for x in answer.citations)
        c["first"] += quotes_gold(answer.citations[0], q)
        c["cites"] += any(cites_gold(x.hit, q) for x in answer.citations)
    n = max(c["n"], 1)
    return [str(c["n"])] + [f"{c[k] / n:.3f}" for k in ("answered", "any", "first", "cites")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distractors", type=int, nargs="+", default=[0])
    ap.add_argument("--limit", type=int, default=0, help="questions per language and kind (0 = all)")
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.distractors, args.limit, args.output = [0], 3, Path(tempfile.mkdtemp()) / "benchmarks.md"
    encoder = bench_encoder(args.data_dir)
    headers = ["distractors", "questions", "order", "answerable", "answered", "quote holds the answer"]
    headers += ["first quote holds it", "cites its passage"]
    rows: list[list[object]] = []
    for n in args.distractors:
        for name in ("xquad", "reverse"):
            records, asked = questions(name, args.limit, args.smoke)
            label = "English about Arabic (fit)" if name == "xquad" else "Arabic about English (confirm)"
            with tempfile.TemporaryDirectory(prefix="sanad-evidence-") as work:
                index = fresh_index(Path(work), encoder)
                build_index(index, records, sample_distractors(NEWS, n) if n else ())
                answerer = build_answerer(index)
                shipped = answerer.config
                for order in ("e5 order", "shipped"):
                    answerer.config = replace(shipped, cross_order=order == "shipped")
                    answers = [(answerer.answer(q.question), q) for q in asked]
                    rows.append([n, label, order, *score(answers)])
                    print(table(headers, rows[-1:]), flush=True)
    update_section(
        args.output,
        "evidence-order",
        "## Which sentences are quoted across scripts (issue #12)\n\n"
        f"Measured {machine()}. The extractive back end over XQuAD split in thirds; shares of the answerable "
        "questions. *e5 order*: evidence sentences ranked by e5-small's cosine alone, and refusals by the passage "
        "rule (as before); *shipped*: + 0.15 × the second encoder's cosine when a passage is in the other script "
        "(qa/evidence.py), and the refusal rule that reads it (qa/calibration.py). The retrieval is the "
        f"same in both.\n\n{table(headers, rows)}\n\nReproduce: `{command()}`",
    )


if __name__ == "__main__":
    main()
