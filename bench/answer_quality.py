"""Answer quality and latency: extractive and local-LLM answers on XQuAD, answerable and not.

Half of the XQuAD articles are indexed (every other article id); questions about them are
answerable, questions about the other half are not (their article is missing, its siblings are
there). Reports, by back end and question language: answered when answerable, refused when not,
answer accuracy (a gold answer string in the answer or its cited passages), citation
correctness (a cited passage overlaps the gold paragraph), share of citations the checker
marked supported, and p50/p95 latency of a whole answer.

    python bench/answer_quality.py --limit 100                 # extractive, 100 questions per language
    python bench/answer_quality.py --llm local --limit 20 --limit-unanswerable 10
    python bench/answer_quality.py --smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._index import encoder as bench_encoder  # noqa: E402
from bench._index import fresh_index  # noqa: E402
from bench._report import DEFAULT_REPORT, ROOT, SHARED, command, machine, table, update_section  # noqa: E402
from index.datadir import DataDir  # noqa: E402
from index.ingest import ingest  # noqa: E402
from index.loaders import load_paths  # noqa: E402
from index.types import Article  # noqa: E402
from qa.engine import LLMConfig, build_answerer, build_generator  # noqa: E402
from qa.evaluate import (  # noqa: E402
    Question,
    answer_is_accurate,
    build_index,
    is_hit,
    limit_per_language,
    load_questions,
)

XQUAD = SHARED / "data" / "xquad"
SEED_ARTICLE = ROOT / "examples" / "articles" / "baghouz-ar.md"
SEED_QUESTIONS = Path(__file__).with_name("seed_questions.jsonl")


def seed_questions(article: Article) -> tuple[list[Question], list[Question]]:
    """The demo article's questions (ours, bench/seed_questions.jsonl): answerable ones and the rest.

    An answerable question's gold paragraph is the line of the article holding its ``evidence``.
    """
    answerable, unanswerable = [], []
    for line in SEED_QUESTIONS.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if not r["answers"]:
            unanswerable.append(Question(r["id"], r["question"], r["lang"], article.id, (0, 0), ()))
            continue
        at = article.text.index(r["evidence"])
        start = article.text.rfind("\n", 0, at) + 1
        end = article.text.find("\n", at) % (len(article.text) + 1)
        spans = tuple((i, i + len(a)) for a in r["answers"] if (i := article.text.find(a, start, end)) >= 0)
        answerable.append(
            Question(r["id"], r["question"], r["lang"], article.id, (start, end), spans, tuple(r["answers"]))
        )
    return answerable, unanswerable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llm", default="extractive", choices=["extractive", "local"])
    ap.add_argument("--limit", type=int, default=100, help="answerable questions per language")
    ap.add_argument("--limit-unanswerable", type=int, default=None, help="unanswerable ones (default: --limit)")
    ap.add_argument(
        "--questions", nargs="+", default=["xquad", "seed"], choices=["xquad", "seed"], help="which question sets"
    )
    ap.add_argument("--dump", type=Path, help="write every LLM answer with its raw text here (JSONL)")
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.limit, args.output = 3, Path(tempfile.mkdtemp()) / "benchmarks.md"
    if args.limit_unanswerable is None:
        args.limit_unanswerable = args.limit

    articles = [json.loads(line) for line in open(XQUAD / "articles.jsonl", encoding="utf-8")]
    indexed = {a["id"] for a in sorted(articles, key=lambda a: a["id"])[0::2]}
    questions = load_questions(XQUAD / "questions.jsonl")
    answerable = limit_per_language([q for q in questions if q.article_id in indexed], args.limit)
    unanswerable = limit_per_language([q for q in questions if q.article_id not in indexed], args.limit_unanswerable)
    if args.smoke:
        keep = {q.article_id for q in answerable}
        articles = [a for a in articles if a["id"] in keep]
    embeddings = bench_encoder(args.data_dir)
    generator = build_generator(LLMConfig(args.llm, timeout=300.0), DataDir(args.data_dir))
    rows = []
    with tempfile.TemporaryDirectory(prefix="sanad-answers-") as work:
        feed = Path(work) / "half.jsonl"
        feed.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles if a["id"] in indexed))
        index = fresh_index(Path(work), embeddings, "half")
        build_index(index, feed)
        seed = next(a for a in load_paths([SEED_ARTICLE]) if isinstance(a, Article))
        ingest([seed], index)
        seed_a, seed_u = seed_questions(seed)
        if args.smoke:
            seed_a, seed_u = seed_a[:2], seed_u[:2]
        dump = args.dump.open("w", encoding="utf-8") if args.dump else None
        answerer = build_answerer(index, generator=generator)
        answerer.answer("warm-up question")
        for lang, source in [(lang, s) for s in args.questions for lang in ("ar", "en")]:
            stats = {"answered": 0, "refused": 0, "accurate": 0, "cited": 0, "supported": 0, "citations": 0}
            times, first = [], []
            qs_a = [q for q in (answerable if source == "xquad" else seed_a) if q.lang == lang]
            qs_u = [q for q in (unanswerable if source == "xquad" else seed_u) if q.lang == lang]
            for q in qs_a + qs_u:
                t0 = time.perf_counter()
                answer = answerer.answer(q.question)
                times.append(time.perf_counter() - t0)
                if answer.backend != "extractive":
                    first.append(answer.timings_ms["first_token"] / 1000)
                if dump:
                    record = {
                        "id": q.id,
                        "answerable": q in qs_a,
                        "cites_gold": [is_hit(c.hit, q) for c in answer.citations],
                        **answer.to_dict(),
                    }
                    dump.write(json.dumps(record, ensure_ascii=False) + "\n")
                    dump.flush()
                if q in qs_u:
                    stats["refused"] += answer.abstained
                    continue
                if answer.abstained:
                    continue
                stats["answered"] += 1
                stats["accurate"] += answer_is_accurate(answer, q)
                stats["cited"] += any(is_hit(c.hit, q) for c in answer.citations)
                stats["supported"] += sum(c.supported for c in answer.citations)
                stats["citations"] += len(answer.citations)
            n_a, n_u = max(1, len(qs_a)), max(1, len(qs_u))
            rows.append(
                [
                    args.llm,
                    "XQuAD" if source == "xquad" else "seed article",
                    lang,
                    f"{len(qs_a)} + {len(qs_u)}",
                    f"{stats['answered'] / n_a:.3f}",
                    f"{stats['refused'] / n_u:.3f}",
                    f"{stats['accurate'] / n_a:.3f}",
                    f"{stats['cited'] / n_a:.3f}",
                    f"{stats['supported'] / max(1, stats['citations']):.3f}",
                    f"{np.percentile(first, 50) * 1000:.0f}" if first else "-",
                    f"{np.percentile(times, 50) * 1000:.0f}",
                    f"{np.percentile(times, 95) * 1000:.0f}",
                ]
            )
            print(table(HEADERS, rows[-1:]), flush=True)
    result = table(HEADERS, rows)
    print(result)
    update_section(
        args.output,
        f"answers-{args.llm}",
        f"## Answer quality and latency: {args.llm}\n\n"
        f"XQuAD, half of the 48 articles indexed; questions about them are answerable, questions about the "
        f"other half are not. *Seed article*: the demo article about Baghouz is indexed too, with our own "
        f"questions about it (`bench/seed_questions.jsonl`: {len(seed_a)} answerable, {len(seed_u)} not, "
        f"Arabic and English; Arabic gold answers). Measured {machine()}, embedding backend "
        f"{embeddings.backend}. Accuracy and citation columns are over answerable questions; "
        "*supported* is the share of citations the checker accepted.\n\n"
        f"{result}\n\nReproduce: `{command()}`",
    )


HEADERS = [
    "back end",
    "questions",
    "lang",
    "answerable + not",
    "answered when answerable",
    "refused when not",
    "answer accuracy",
    "cites gold paragraph",
    "citations supported",
    "LLM first token p50 ms",
    "p50 ms",
    "p95 ms",
]

if __name__ == "__main__":
    main()
