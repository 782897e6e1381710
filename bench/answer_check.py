"""Can the local model tell when its evidence answers? Three signals, fitted on XQuAD, confirmed on ARCD (issue #12).

The local model answers each question (``qa/answer.py``, shipped defaults, no distractors) of a
sample of each set's answerable, absent and near-miss questions (``qa.evaluate.holdout``). For
every question that reaches the model, three signals are recorded:

- ``p_found``: the model's probability of ``"found": true`` in its own answer (log-probabilities);
- ``check_question``: one more call, "does the evidence state the answer to this question?", P(yes)
  over the top 3 evidence sentences;
- ``check_answer``: one more call, "does the evidence say that this is the answer?", P(yes) for the
  model's answer over the sentences it cites;
- ``check_reply``: the same question asked as the next turn of the answer's own conversation, so
  the server's cache holds everything before it (about 30 new prompt tokens).

Each row also says whether the shown answer holds a gold answer, and whether the extractive
back end's answer (what a rejected model answer falls back to) does.

The report gives each signal's AUC (answerable against absent + near-miss, and correct model
answers against wrong ones), and what refusing below each threshold would answer and refuse.

    python bench/answer_check.py --per-kind 10 --data-dir data          # ~45 min on 2 cores
    python bench/answer_check.py --report-only rows.jsonl               # the report from kept rows
    python bench/answer_check.py --smoke
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage  # noqa: E402

import qa.answer  # noqa: E402
import qa.generate  # noqa: E402
from bench._index import encoder as bench_encoder  # noqa: E402
from bench._index import fresh_index  # noqa: E402
from bench._report import DEFAULT_REPORT, command, machine, table, update_section  # noqa: E402
from bench.answer_quality import NEWS, sampled_set  # noqa: E402
from index.datadir import DataDir  # noqa: E402
from qa.engine import LLMConfig, build_answerer, build_generator  # noqa: E402
from qa.evaluate import answer_exact, build_index, sample_distractors  # noqa: E402
from qa.generate import messages_for  # noqa: E402

SIGNALS = ["p_found", "check_question", "check_answer", "check_reply"]
CHECK_SYSTEM = "You check answers against evidence sentences from news articles. Reply with one word: yes or no."
THRESHOLDS = [0.0, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]


def p_yes(chat: Any, human: str, before: list[Any] | None = None) -> float | None:
    """P(yes) against P(no) at the model's first token (after the conversation ``before``, if given)."""
    tokens: list[dict[str, Any]] = []
    for chunk in chat.stream((before or [SystemMessage(CHECK_SYSTEM)]) + [HumanMessage(human)]):
        tokens += (chunk.response_metadata.get("logprobs") or {}).get("content") or []
    if not tokens:
        return None
    odds = {"yes": 0.0, "no": 0.0}
    for alt in tokens[0].get("top_logprobs") or []:
        word = alt["token"].strip().lower()
        if word in odds:
            odds[word] += math.exp(alt["logprob"])
    return odds["yes"] / (odds["yes"] + odds["no"]) if sum(odds.values()) > 0 else None


def numbered(sentences: list[Any]) -> str:
    return "\n".join(f"[{i}] {s.text}" for i, s in enumerate(sentences, 1))


def collect(
    sets: list[str],
    per_kind: int,
    data_dir: Path,
    out: Path,
    smoke: bool = False,
    reply_only: bool = False,
    distractors: int = 0,
) -> None:
    """Answer the sample with the local model, recording the signals; one JSON row per question in ``out``."""
    encoder = bench_encoder(data_dir)
    generator = build_generator(LLMConfig("local", timeout=600.0, threads=1 if smoke else 2), DataDir(data_dir))
    assert generator is not None
    yes_no = generator.chat.bind(max_tokens=1, logprobs=True, top_logprobs=10)
    seen: dict[str, Any] = {}
    fields_of, verify = qa.generate.Reply.fields, qa.answer.verify

    def fields(reply: qa.generate.Reply) -> dict[str, Any] | None:  # the signal the answer itself carries
        seen["p_found"], seen["fields"], seen["raw"] = reply.p_found, fields_of(reply), reply.raw
        return seen["fields"]

    def prompt(*args: Any) -> Any:
        seen["prompt"] = messages_for(*args)
        return seen["prompt"]

    def checked(fields: Any, chosen: list[Any], hits: Any, query: Any, *rest: Any) -> Any:  # the extra calls
        verdict = verify(fields, chosen, hits, query, *rest)
        if fields and fields.get("answer") and not verdict.refused:
            started = time.perf_counter()
            answer = fields["answer"]
            turn = f'Question: {query.text}\nIs "{answer}" the answer, as the evidence states it? Reply yes or no.'
            seen["check_reply"] = p_yes(yes_no, turn, seen["prompt"] + [AIMessage(seen["raw"])])
            seen["check_reply_ms"] = round(1000 * (time.perf_counter() - started))
        if not reply_only:  # separate prompts: they evict the answer prompt's cache
            top = chosen[:3]
            ask = f"Evidence:\n{numbered(top)}\n\nQuestion: {query.text}\n"
            seen["check_question"] = p_yes(yes_no, ask + "Does the evidence state the answer to this question?")
            if fields and fields.get("answer") and not verdict.refused:
                cited = verdict.backed or [chosen[n - 1] for n in fields["evidence"] if 1 <= n <= len(chosen)] or top
                ask = f"Evidence:\n{numbered(cited)}\n\nQuestion: {query.text}\nProposed answer: {fields['answer']}\n"
                seen["check_answer"] = p_yes(
                    yes_no, ask + "Does the evidence say that this is the answer to the question?"
                )
        return verdict

    qa.generate.Reply.fields = fields  # type: ignore[method-assign]
    qa.answer.verify = checked  # type: ignore[assignment]
    qa.answer.messages_for = prompt  # type: ignore[assignment]
    generator.min_p_found = 0.0  # record every answer: the thresholds are what this measures
    with open(out, "a", encoding="utf-8") as f:
        for name in sets:
            records, sample = sampled_set(name, per_kind, ["en"] if smoke else None, smoke=smoke)  # en: across scripts
            with tempfile.TemporaryDirectory(prefix="sanad-check-") as work:
                index = fresh_index(Path(work), encoder, "answers")
                build_index(index, records, list(sample_distractors(NEWS, distractors)) if distractors else [])
                answerer = build_answerer(index, generator=generator)
                quoting = build_answerer(index)
                for q in sample:
                    seen.clear()
                    started = time.perf_counter()
                    answer = answerer.answer(q.question)
                    model = (seen.get("fields") or {}).get("answer")
                    row = {
                        "set": name,
                        "distractors": distractors,
                        "id": q.id,
                        "lang": q.lang,
                        "kind": q.kind,
                        "abstained": answer.abstained,
                        "notice": answer.notice,
                        "model_correct": bool(model and q.answers and answer_exact(model, q.answers)),
                        "shown_correct": bool(q.answers and answer_exact(answer.answer, q.answers)),
                        "extractive_correct": bool(
                            q.answers and answer_exact(quoting.answer(q.question).answer, q.answers)
                        ),
                        "check_reply_ms": seen.get("check_reply_ms"),
                        "secs": round(time.perf_counter() - started, 1),
                        **{s: seen.get(s) for s in SIGNALS},
                    }
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    f.flush()
                    print(json.dumps(row, ensure_ascii=False), flush=True)


def auc(pos: list[float], neg: list[float]) -> str:
    if not pos or not neg:
        return "-"
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return f"{wins / len(pos) / len(neg):.2f} ({len(pos)}/{len(neg)})"


def report(rows: list[dict[str, Any]]) -> str:
    """AUC per signal and set, then answered / refused by threshold."""
    for r in rows:  # one group per set and number of distractors
        r["set"] = r["set"].split(" ")[0] + (f" +{r['distractors']}" if r.get("distractors") else "")
    sets = sorted({r["set"] for r in rows}, key=lambda g: (["xquad", "arcd", "seed"].index(g.split(" ")[0]), g))
    aucs = []
    for name in sets:
        read = [r for r in rows if r["set"] == name and r["p_found"] is not None]
        for s in SIGNALS:
            have = [r for r in read if r[s] is not None]
            if not have:
                continue
            ok = [r[s] for r in have if r["kind"] == "answerable"]
            not_ok = [r[s] for r in have if r["kind"] != "answerable"]
            right = [r[s] for r in have if r["kind"] == "answerable" and r["model_correct"]]
            wrong = [r[s] for r in have if r["kind"] == "answerable" and not r["model_correct"]]
            aucs.append([name, s, auc(ok, not_ok), auc(right, wrong)])
    grid = []
    for name in sets:
        mine = [r for r in rows if r["set"] == name]
        total = {k: sum(r["kind"] == k for r in mine) for k in ("answerable", "absent", "nearmiss")}
        for s in ("p_found", "check_question"):
            if all(r[s] is None for r in mine):  # not measured in this run (--reply-only)
                continue
            for t in THRESHOLDS:
                refused = [r for r in mine if r["abstained"] or (r[s] or 0.0) < t]
                count = {k: sum(r["kind"] == k for r in refused) for k in total}
                grid.append(
                    [
                        name,
                        s,
                        f"{t:.2f}",
                        f"{total['answerable'] - count['answerable']}/{total['answerable']}",
                        f"{count['absent']}/{total['absent']}",
                        f"{count['nearmiss']}/{total['nearmiss']}",
                    ]
                )
    fallback = []
    for name in sets:
        asked = [r for r in rows if r["set"] == name and r["kind"] == "answerable" and "shown_correct" in r]
        for s in ("check_answer", "check_reply"):
            if all(r[s] is None for r in asked):
                continue
            for t in THRESHOLDS:
                kept = [r for r in asked if r[s] is None or r[s] >= t]  # None: refused, or no model answer
                quoted = [r for r in asked if r not in kept]
                exact = sum(r["shown_correct"] for r in kept) + sum(r["extractive_correct"] for r in quoted)
                wrong = sum(1 for r in kept if r[s] is not None and not r["model_correct"])
                fallback.append([name, s, f"{t:.2f}", f"{exact}/{len(asked)}", len(quoted), wrong])
    return (
        table(["set", "signal", "answerable vs absent + near-miss (AUC, n)", "model answer right vs wrong"], aucs)
        + "\n\nQuoting instead of a model answer below a threshold "
        + "(answerable questions; answer_exact of what is shown):\n\n"
        + table(
            [
                "set",
                "signal",
                "threshold",
                "answer_exact",
                "model answers quoted instead",
                "wrong model answers still shown",
            ],
            fallback,
        )
        + "\n\nRefusing below a threshold (0.00 = today without it):\n\n"
        + table(["set", "signal", "threshold", "answered", "refused absent", "refused near-miss"], grid)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["xquad", "arcd", "seed"], choices=["xquad", "arcd", "seed"])
    ap.add_argument("--per-kind", type=int, default=10, help="questions per language and kind (the seed set: all)")
    ap.add_argument("--rows", type=Path, default=None, help="keep the per-question rows here (JSON lines)")
    ap.add_argument("--report-only", type=Path, default=None, help="write the report from rows kept earlier")
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--distractors", type=int, default=0, help="news articles added to each set's index")
    ap.add_argument("--reply-only", action="store_true", help="only p_found and check_reply (no cache-evicting calls)")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    rows_path = args.report_only or args.rows or Path(tempfile.mkdtemp()) / "rows.jsonl"
    if args.smoke:
        args.sets, args.per_kind = ["seed"], 1
        args.output = Path(tempfile.mkdtemp()) / "benchmarks.md"
    if args.report_only is None:
        collect(args.sets, args.per_kind, args.data_dir, rows_path, args.smoke, args.reply_only, args.distractors)
    rows = [json.loads(line) for line in rows_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    result = report(rows)
    print(result)
    update_section(
        args.output,
        "answer-check",
        "## Can the local model tell when its evidence answers? (issue #12, method 5)\n\n"
        f"Measured {machine()}. The local model (2 threads) answered a seeded sample of each set's answerable, "
        "absent and near-miss questions (`qa.evaluate.holdout`, no distractors; seed: all its questions). "
        '*p_found*: its probability of `"found": true` in its own reply; *check_question* and '
        '*check_answer*: one more call each, P(yes) to "does the evidence state the answer?" (top 3 '
        'sentences) and "does the evidence say that this is the answer?" (its answer, the sentences it cites). '
        "AUC over the questions that reached the model (the retrieval rule refuses the rest first).\n\n"
        f"{result}\n\nReproduce: `{command()}`",
    )


if __name__ == "__main__":
    main()
