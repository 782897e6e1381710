"""Answers judged on their text: the common RAG recipe, Sanad extractive and Sanad with its local model, side by side.

Each question set's articles are split into thirds (``qa.evaluate.holdout``): indexed whole (their
questions are answerable), not indexed (``absent``: must be refused), and indexed without the
paragraph that answers (``nearmiss``: the topic is there, the fact is not; must be refused).
With 0 and 1,000 news articles added as distractors, three back ends answer the same questions:

- ``peer``: what most RAG apps ship: RecursiveCharacterTextSplitter(1000, 200) chunks, dense
  multilingual-e5-small top 4, LangChain's classic RAG prompt, the same local model at temperature 0;
- ``extractive``: Sanad quoting sentences;
- ``local``: Sanad with its local model.

The seed set is our own questions about the demo article (``bench/seed_questions.jsonl``).

    python bench/answer_quality.py --sets xquad arcd seed --distractors 0 1000 --limit 20
    python bench/answer_quality.py --smoke
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._index import asked_about, fresh_index  # noqa: E402
from bench._index import encoder as bench_encoder  # noqa: E402
from bench._peer import PeerRecipe, peer_index  # noqa: E402
from bench._report import DEFAULT_REPORT, NEWS, ROOT, SHARED, command, machine, table, update_section  # noqa: E402
from index.datadir import DataDir  # noqa: E402
from index.loaders import load_paths  # noqa: E402
from index.types import Article  # noqa: E402
from qa.engine import LLMConfig, build_answerer, build_generator  # noqa: E402
from qa.evaluate import (  # noqa: E402
    Question,
    Scores,
    build_index,
    holdout,
    judge,
    limit_per_language,
    load_questions,
    load_records,
    sample_distractors,
)

SEED_ARTICLE = ROOT / "examples" / "articles" / "baghouz-ar.md"
SEED_QUESTIONS = Path(__file__).with_name("seed_questions.jsonl")
METRICS = ["answered", "answer_exact", "answer_f1", "citation_correct", "refused_absent", "refused_nearmiss"]


def seed_set() -> tuple[list[dict], list[Question]]:
    """The demo article and our questions about it: answerable ones, and near-misses (the article lacks the fact)."""
    article = next(a for a in load_paths([SEED_ARTICLE]) if isinstance(a, Article))
    record = {"id": article.id, "title": article.title, "text": article.text, "lang": "ar", "source": article.source}
    questions = []
    for line in SEED_QUESTIONS.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        answers = (r.get("answers_by_lang") or {}).get(r["lang"]) or r["answers"]
        if not r["answers"]:
            questions.append(Question(r["id"], r["question"], r["lang"], article.id, (0, 0), (), (), "nearmiss"))
            continue
        at = article.text.index(r["evidence"])
        start = article.text.rfind("\n", 0, at) + 1
        end = article.text.find("\n", at) % (len(article.text) + 1)
        spans = tuple((i, i + len(a)) for a in r["answers"] if (i := article.text.find(a, start, end)) >= 0)
        questions.append(Question(r["id"], r["question"], r["lang"], article.id, (start, end), spans, tuple(answers)))
    return [record], questions


def question_set(name: str) -> tuple[list[dict], list[Question]]:
    """Articles to index and the questions with their kind."""
    if name == "seed":
        return seed_set()
    data = SHARED / "data" / name
    return holdout(load_records(data / "articles.jsonl"), load_questions(data / "questions.jsonl"))


def sampled_set(
    name: str, per_kind: int, langs: Iterable[str] | None = None, smoke: bool = False, seed: int = 7
) -> tuple[list[dict], list[Question]]:
    """A seeded sample of ``per_kind`` questions per language and kind (``langs``: all when None), and its articles.

    With ``smoke``, only the articles the sample is about.
    """
    records, questions = question_set(name)
    cells: dict[tuple[str, str], list[Question]] = {}
    for q in questions:
        if langs is None or q.lang in langs:
            cells.setdefault((q.lang, q.kind), []).append(q)
    rng = random.Random(seed)
    sample = [q for key in sorted(cells) for q in rng.sample(cells[key], min(per_kind, len(cells[key])))]
    if smoke:
        records = asked_about(records, sample)
    return records, sample


def run(backend: str, ask, questions: list[Question], log=None, where: dict | None = None) -> list[list]:
    """Ask every question; one row per question language. ``log``: a text file told each answer and its score."""
    rows = []
    for lang in sorted({q.lang for q in questions}):
        scores, times, first = Scores(), [], []
        for q in (q for q in questions if q.lang == lang):
            t0 = time.perf_counter()
            answer = ask(q.question)
            times.append(1000 * (time.perf_counter() - t0))
            if "first_token" in answer.timings_ms and answer.backend != "extractive":
                first.append(answer.timings_ms["first_token"])
            scores.add_answer(answer, q)
            if log is not None:
                said = {"kind": q.kind, "question": q.question, "gold": list(q.answers), "answer": answer.answer}
                said |= {"abstained": answer.abstained, "notice": answer.notice, "score": dict(judge(answer, q))}
                log.write(
                    json.dumps({**(where or {}), "backend": backend, "lang": lang, **said}, ensure_ascii=False) + "\n"
                )
                log.flush()
        m = scores.as_dict()
        kinds = scores.counts
        counts = f"{kinds['answerable']} / {kinds['absent']} / {kinds['nearmiss']}"
        cells = [
            "-" if k not in m or (k == "citation_correct" and backend == "peer") else f"{m[k]:.3f}" for k in METRICS
        ]
        rows.append(
            [
                backend,
                lang,
                counts,
                *cells,
                f"{statistics.median(first):.0f}" if first else "-",
                f"{statistics.median(times):.0f}",
            ]
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["xquad", "arcd", "seed"], choices=["xquad", "arcd", "seed"])
    ap.add_argument("--distractors", type=int, nargs="+", default=[0, 1000])
    ap.add_argument(
        "--backends", nargs="+", default=["peer", "extractive", "local"], choices=["peer", "extractive", "local"]
    )
    ap.add_argument("--limit", type=int, default=20, help="questions per language and kind (0 = all)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of the local model")
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--section", default="answers", help="report section")
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--answers", type=Path, help="also write every answer and its score here (JSON lines)")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.sets, args.distractors, args.backends, args.limit = ["xquad"], [0], ["extractive"], 2
        args.output = Path(tempfile.mkdtemp()) / "benchmarks.md"
    encoder = bench_encoder(args.data_dir)
    generator = None
    if {"peer", "local"} & set(args.backends):
        generator = build_generator(LLMConfig("local", timeout=600.0, threads=args.threads), DataDir(args.data_dir))
    headers = [
        "set",
        "distractors",
        "back end",
        "lang",
        "answerable / absent / near-miss",
        *METRICS,
        "first token p50 ms",
        "p50 ms",
    ]
    rows = []
    log = args.answers.open("w", encoding="utf-8") if args.answers else None
    for name in args.sets:
        records, questions = question_set(name)
        questions = limit_per_language(questions, args.limit)
        if args.smoke:
            records = asked_about(records, questions)
        for n in args.distractors if name != "seed" else [0]:
            pool = list(sample_distractors(NEWS, n)) if n else []
            with tempfile.TemporaryDirectory(prefix="sanad-answers-") as work:
                index = fresh_index(Path(work), encoder, "answers")
                build_index(index, records, pool)
                for backend in args.backends:
                    if backend == "peer":
                        assert generator is not None
                        recipe = PeerRecipe(peer_index(Path(work), encoder, records, pool), encoder, generator.chat)
                        ask = recipe.answer
                    else:
                        answerer = build_answerer(index, generator=generator if backend == "local" else None)
                        ask = answerer.answer
                    ask("warm-up question")
                    for row in run(backend, ask, questions, log, {"set": name, "distractors": n}):
                        rows.append([name, n, *row])
                        print(table(headers, rows[-1:]), flush=True)
    if log is not None:
        log.close()
    result = table(headers, rows)
    print(result)
    update_section(
        args.output,
        args.section,
        "## Answers judged on their text\n\n"
        f"Measured {machine()}, embedding backend {encoder.backend}. Each set's articles split in thirds "
        "(`qa.evaluate.holdout`): indexed whole (answerable), not indexed (absent), indexed without the "
        "answering paragraph (near-miss). *answer_exact*: a normalised gold answer (English ones for English "
        "questions) appears in the answer text; *answer_f1*: SQuAD token F1 with the best gold answer; both over "
        "all answerable questions (a refusal scores 0). *citation_correct*: of the answered questions, a cited "
        "passage holds the gold span (the recipe cites nothing). *peer*: RecursiveCharacterTextSplitter 1000/200, "
        "dense e5-small top 4, LangChain's classic RAG prompt, the same local model at temperature 0.\n\n"
        f"{result}\n\nReproduce: `{command()}`",
    )


if __name__ == "__main__":
    main()
