"""Answers from one index holding both scripts: XQuAD with every other article in English, the rest in Arabic.

In a single-script index every candidate is as far from the question's language as the next.
Holding both, e5-small's preference for the question's own language decides: an English question
about an Arabic article meets English passages about other things first. This bench asks XQuAD's
Arabic and English questions of such an index (articles split in thirds, ``qa.evaluate.holdout``:
answerable, absent, near-miss), extractive back end, and compares the shipped retrieval and
refusal rule with ``before``: one dense ranking for both scripts and no correction of that
preference (``split_scripts`` off, ``own_script_bias`` 0). Rows by question and article language.

    python bench/mixed_index.py --distractors 0 1000
    python bench/mixed_index.py --smoke
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._index import encoder as bench_encoder  # noqa: E402
from bench._index import fresh_index  # noqa: E402
from bench._report import DEFAULT_REPORT, NEWS, XQUAD, command, machine, table, update_section  # noqa: E402
from bench._reverse import half_in_english  # noqa: E402
from bench.evidence_order import quotes_gold  # noqa: E402
from qa.engine import build_answerer  # noqa: E402
from qa.evaluate import (  # noqa: E402
    Question,
    build_index,
    cites_gold,
    holdout,
    limit_per_language,
    load_questions,
    sample_distractors,
)
from qa.types import Answer  # noqa: E402

HEADERS = ["distractors", "questions", "ranking", "answerable / absent / near-miss", "answered"]
HEADERS += ["quote holds the answer", "cites its passage", "refused absent", "refused near-miss", "p50 ms"]


def score(answers: list[tuple[Answer, Question]]) -> list[str]:
    """Counts, and shares: answered, quote holds the gold answer, cites its passage; absent and near-miss refused."""
    c: Counter[str] = Counter()
    for answer, q in answers:
        c[q.kind] += 1
        if q.kind != "answerable":
            c[f"refused {q.kind}"] += answer.abstained
            continue
        if answer.abstained or not answer.citations:
            continue
        c["answered"] += 1
        c["quote"] += any(quotes_gold(x, q) for x in answer.citations)
        c["cites"] += any(cites_gold(x.hit, q) for x in answer.citations)
    n = max(c["answerable"], 1)
    shares = [f"{c[k] / n:.3f}" for k in ("answered", "quote", "cites")]
    refused = [f"{c[f'refused {k}'] / c[k]:.3f}" if c[k] else "-" for k in ("absent", "nearmiss")]
    return [f"{c['answerable']} / {c['absent']} / {c['nearmiss']}", *shares, *refused]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distractors", type=int, nargs="+", default=[0, 1000])
    ap.add_argument("--limit", type=int, default=0, help="questions per pair and kind (0 = all)")
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.distractors, args.limit, args.output = [0], 2, Path(tempfile.mkdtemp()) / "benchmarks.md"
    records, pointed = half_in_english(XQUAD, load_questions(XQUAD / "questions.jsonl"))
    records, asked = holdout(records, pointed)
    asked = limit_per_language(asked, args.limit)  # ``lang`` is the pair here: "en about ar"
    encoder = bench_encoder(args.data_dir)
    rows: list[list[object]] = []
    for n in args.distractors:
        with tempfile.TemporaryDirectory(prefix="sanad-mixed-") as work:
            index = fresh_index(Path(work), encoder)
            build_index(index, records, sample_distractors(NEWS, n) if n else ())
            answerer = build_answerer(index)
            retriever, bias = answerer.retriever, answerer.retriever.own_script_bias
            for ranking in ("before", "shipped"):
                retriever.split_scripts = ranking == "shipped"
                retriever.own_script_bias = bias if ranking == "shipped" else 0.0
                for pair in sorted({q.lang for q in asked}):
                    answers, times = [], []
                    for q in (q for q in asked if q.lang == pair):
                        answer = answerer.answer(q.question)
                        answers.append((answer, q))
                        times.append(answer.timings_ms.get("total", 0.0))
                    p50 = sorted(times)[len(times) // 2] if times else 0.0
                    rows.append([n, pair, ranking, *score(answers), f"{p50:.0f}"])
                    print(table(HEADERS, rows[-1:]), flush=True)
    update_section(
        args.output,
        "mixed-index",
        "## Answers from an index holding both scripts (issue #12)\n\n"
        f"Measured {machine()}. {__doc__.split(chr(10) + chr(10))[1].strip()}\n\n"
        f"{table(HEADERS, rows)}\n\nReproduce: `{command()}`",
    )


if __name__ == "__main__":
    main()
