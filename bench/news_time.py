"""News time (issue #14): present-tense and dated questions, answered without and with time awareness.

The data set, ``bench/news_time.jsonl``, was written by us for this benchmark, from no external
source: fictional but realistic news (invented towns, clubs, companies and outlets). Twelve
topics; in ten, two or three dated reports per language disagree about one fact (who holds a
town, a toll that rose, a crossing that reopened, a count a recount overturned); in two, a later
report agrees with the earlier one. Each report is written in Arabic and in English (separate
articles from different outlets, dates in several formats), beside eight undated background
articles on the same topics. Per topic and language, present questions ("Who controls Tel
Hamra?", gold: the newest report) and dated ones ("... in December 2018?", gold: the older report
of that period). A question's ``other_side`` lists the reports that say otherwise.

One index, one run, both configurations: *before* is ``AnswerConfig(time_aware=False)``, *after*
``time_aware=True`` (the default). Per question language and time kind:

- ``first_cited``: the first citation is the gold article;
- ``date_shown``: the gold date as answers show it (``qa.news.shown_date``: "23 Mar 2019") leads
  the first cited line;
- ``conflict_said`` (questions whose reports differ): the answer says so (the "reports differ"
  lead; with an LLM, also the "another report says otherwise" line);
- ``both_cited`` (same questions): the gold article and one of ``other_side`` are both cited;
- ``false_conflict`` (questions no other report contradicts): the answer says the reports differ;
- ``time read``: ``qa.news.asked_when`` reads the question's time kind as labelled.

    python bench/news_time.py --distractors 0 1000
    python bench/news_time.py --smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._index import encoder as bench_encoder  # noqa: E402
from bench._index import fresh_index  # noqa: E402
from bench._report import DEFAULT_REPORT, NEWS, command, machine, table, update_section  # noqa: E402
from index.datadir import DataDir  # noqa: E402
from prompts import message  # noqa: E402
from qa.answer import Answerer  # noqa: E402
from qa.engine import LLMConfig, build_answerer, build_generator  # noqa: E402
from qa.evaluate import build_index, sample_distractors  # noqa: E402
from qa.news import asked_when, shown_date  # noqa: E402
from qa.types import Answer  # noqa: E402

DATA = Path(__file__).with_name("news_time.jsonl")
CONFIGS = {"before": False, "after": True}  # AnswerConfig.time_aware
METRICS = ("first_cited", "date_shown", "conflict_said", "both_cited", "false_conflict")


@dataclass(frozen=True)
class NewsQuestion:
    """A question of the set: its time kind, the article to cite first, and the reports that say otherwise."""

    id: str
    topic: str
    lang: str
    question: str
    time: str  # "present" or "dated"
    gold_article: str
    gold_date: str  # ISO
    conflict: bool
    other_side: tuple[str, ...] = ()


def load(path: Path, topics: int = 0) -> tuple[list[dict], list[NewsQuestion]]:
    """The articles and questions of the first ``topics`` topics (0: all)."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    order = list(dict.fromkeys(r["topic"] for r in records))
    keep = set(order[:topics] if topics else order)
    articles = [r for r in records if r["kind"] == "article" and r["topic"] in keep]
    questions = [
        NewsQuestion(
            r["id"],
            r["topic"],
            r["lang"],
            r["question"],
            r["time"],
            r["gold_article"],
            r["gold_date"],
            r["conflict"],
            tuple(r.get("other_side", ())),
        )
        for r in records
        if r["kind"] == "question" and r["topic"] in keep
    ]
    return articles, questions


def first_cited_line(answer: Answer) -> str:
    """The first line that carries a citation marker: the lead quote (extractive) or the model's answer."""
    return next((line for line in answer.answer.split("\n") if "[1]" in line), "")


def says_differ(answer: Answer, lang: str) -> bool:
    """Whether the answer says that the reports differ."""
    lines = answer.answer.split("\n")
    return lines[0] == message("reports_differ", lang) or message("other_report", lang) in lines


def judge(answer: Answer, q: NewsQuestion) -> dict[str, bool]:
    """The metrics one answer earns; those that do not apply to the question are left out."""
    cited = [c.hit.article_id for c in answer.citations]
    scores = {
        "first_cited": bool(cited) and cited[0] == q.gold_article,
        "date_shown": f"({shown_date(q.gold_date, q.lang)})" in first_cited_line(answer),
    }
    if q.conflict:
        scores["conflict_said"] = says_differ(answer, q.lang)
        scores["both_cited"] = q.gold_article in cited and any(a in cited for a in q.other_side)
    else:
        scores["false_conflict"] = says_differ(answer, q.lang)
    return scores


def run(answerers: dict[str, Answerer], questions: list[NewsQuestion], distractors: int) -> tuple[list[list], list]:
    """Ask every question in both configurations: the table rows, and the answers the after run got wrong."""
    hits: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    misses = []
    for name, answerer in answerers.items():
        t0 = time.perf_counter()
        for q in questions:
            answer = answerer.answer(q.question)
            scores = judge(answer, q)
            group = (q.lang, q.time)
            for metric, ok in scores.items():
                hits[(*group, name)][metric] += ok
                if name == "after":
                    counts[group][metric] += 1
            if name == "after":
                counts[group]["n"] += 1
                counts[group]["time read"] += asked_when(q.question).kind == q.time
                wrong = [m for m, ok in scores.items() if ok == (m == "false_conflict")]
                if wrong:
                    misses.append((q, answer, wrong))
        print(f"{distractors} distractors, {name}: {len(questions)} questions in {time.perf_counter() - t0:.1f} s")
    rows = []
    for group in sorted(counts):
        c = counts[group]
        cells = [
            f"{hits[(*group, 'before')][m]}/{c[m]} → {hits[(*group, 'after')][m]}/{c[m]}" if c[m] else "-"
            for m in METRICS
        ]
        rows.append([distractors, *group, c["n"], *cells, f"{c['time read']}/{c['n']}"])
    return rows, misses


def describe(q: NewsQuestion, answer: Answer, wrong: list[str]) -> str:
    """One failing answer, for the reader: what was asked, expected, cited and said."""
    cited = ", ".join(f"{c.hit.article_id} ({c.hit.date or 'undated'})" for c in answer.citations) or "nothing"
    lead = " / ".join(answer.answer.split("\n")[:2])
    return (
        f"- {q.id} [{', '.join(wrong)}] {q.question!r} (read as {asked_when(q.question).kind}): "
        f"expected {q.gold_article} ({q.gold_date}) first; cited {cited}; answer: {lead[:300]}"
    )


HEADERS = ["distractors", "lang", "time", "n", *(f"{m} (before → after)" for m in METRICS), "time read"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distractors", type=int, nargs="+", default=[0], help="SaudiNewsNet articles added")
    ap.add_argument("--limit", type=int, default=0, help="topics (0 = all)")
    ap.add_argument("--llm", default="extractive", choices=["extractive", "local"], help="who writes answers")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of the local model")
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--section", default="news-time", help="report section")
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.distractors, args.limit, args.llm = [0], 2, "extractive"
        args.output = Path(tempfile.mkdtemp()) / "benchmarks.md"
    articles, questions = load(DATA, args.limit)
    encoder = bench_encoder(args.data_dir)
    generator = None
    if args.llm == "local":
        generator = build_generator(LLMConfig("local", timeout=600.0, threads=args.threads), DataDir(args.data_dir))
    rows, misses = [], []
    for n in args.distractors:
        pool = list(sample_distractors(NEWS, n)) if n else []
        with tempfile.TemporaryDirectory(prefix="sanad-news-time-") as work:
            index = fresh_index(Path(work), encoder, "news")
            passages = build_index(index, articles, pool)
            print(f"{n} distractors: {len(articles)} articles + {len(pool)}, {passages} passages", flush=True)
            if index.lexical is not None:
                index.lexical.warm()  # as a server does: the first question does not build BM25
            answerers = {}
            for name, aware in CONFIGS.items():
                answerer = build_answerer(index, generator=generator)
                answerer.config = replace(answerer.config, time_aware=aware)
                answerer.answer("warm-up question")
                answerers[name] = answerer
            found, wrong = run(answerers, questions, n)
            print(table(HEADERS, found), flush=True)
            rows += found
            misses += [(n, *m) for m in wrong]
    result = table(HEADERS, rows)
    print(result)
    failures = "\n".join(f"{n} distractors: {describe(*m)}" for n, *m in misses)
    print(f"\nAfter (time-aware) answers that miss a metric:\n{failures or 'none'}")
    topics = len({q.topic for q in questions})
    update_section(
        args.output,
        args.section,
        "## News time (issue #14)\n\n"
        f"Measured {machine()}, embedding backend {encoder.backend}, {args.llm} back end. "
        f"`bench/news_time.jsonl`: {len(articles)} articles on {topics} topics and {len(questions)} questions, "
        "written by us (fictional news, no external source). Each cell: questions that earned the metric, before "
        "(`AnswerConfig(time_aware=False)`) → after (`time_aware=True`), same index, same run. *first_cited*: the "
        "first citation is the gold article (newest report for present questions, the report of the named period "
        "for dated ones); *date_shown*: its date, as answers show it, leads the first cited line; *conflict_said* "
        "and *both_cited*: over questions whose reports differ, the answer says so, and cites the gold article and "
        "one that says otherwise; *false_conflict*: over the others, the answer says reports differ; *time read*: "
        "`qa.news.asked_when` reads the question's time kind as labelled.\n\n"
        f"{result}\n\nReproduce: `{command()}`",
    )


if __name__ == "__main__":
    main()
