"""When to refuse: signals that tell answerable questions from absent and near-miss ones (fit XQuAD, confirm ARCD).

Each set's articles are split in thirds (``qa.evaluate.holdout``): answerable, absent (not
indexed) and near-miss (indexed without the answering paragraph). For every question the
shipped retriever runs once, and the bench records what the answerer can see before it
answers: the best passage's cosine, the best sentence's cosine, and how much of the
question's BM25 weight the best passage holds (``qa.calibration.coverage``). For each rule a
threshold is fitted on XQuAD so that a given share of its answerable questions is answered
(``--answered``, 0.93: the issue asks for at least 0.92); the table gives what it then refuses
on XQuAD and, unfitted, on ARCD. ``shipped`` is the rule and threshold in
``qa/calibration.json``.

    python bench/answerability.py --distractors 0 1000
    python bench/answerability.py --smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._index import asked_about, fresh_index  # noqa: E402
from bench._index import encoder as bench_encoder  # noqa: E402
from bench._report import DEFAULT_REPORT, NEWS, SHARED, command, machine, table, update_section  # noqa: E402
from bench._reverse import english_holdout, reverse_holdout  # noqa: E402
from index.arabic import tokenize  # noqa: E402
from index.dates import states_number  # noqa: E402
from index.translit import name_keys  # noqa: E402
from qa.calibration import (  # noqa: E402
    COVERAGE_WEIGHT,
    NUMBER_WEIGHT,
    Calibration,
    calibration_for,
    coverage,
    names_missing,
)
from qa.engine import build_answerer  # noqa: E402
from qa.evaluate import (  # noqa: E402
    build_index,
    holdout,
    limit_per_language,
    load_questions,
    load_records,
    sample_distractors,  # noqa: E402
)
from qa.evidence import read_evidence  # noqa: E402
from qa.query import (
    ARABIC_SCRIPT_LANGS,  # noqa: E402
    Query,  # noqa: E402
    asks_number,  # noqa: E402
    crosses_scripts,  # noqa: E402
    make_queries,  # noqa: E402
)

KINDS = ("answerable", "absent", "nearmiss")
Signals = dict[str, float | bool | str]


def _fuzzy_rule(r: Signals) -> float:
    """The shipped one-script score: passage + sentence + 0.2 fuzzy coverage − 0.05 number missing."""
    cosines = float(r["passage"]) + float(r["sentence"])
    return cosines + COVERAGE_WEIGHT * float(r["fuzzy"]) - NUMBER_WEIGHT * float(r["number_missing"])


RULES: dict[str, Callable[[Signals], float]] = {
    "passage": lambda r: float(r["passage"]),
    "sentence": lambda r: float(r["sentence"]),
    "passage + sentence": lambda r: float(r["passage"]) + float(r["sentence"]),
    **{
        f"passage + sentence + {w} coverage": lambda r, w=w: (
            float(r["passage"]) + float(r["sentence"]) + w * float(r["coverage"])
        )
        for w in (0.05, 0.1, 0.2)
    },
    # relative signals (method 4 of issue #12): measured, not shipped (docs/benchmarks.md "answerability")
    "… + 0.1 coverage + 0.5 gap to the other hits": lambda r: (
        float(r["passage"]) + float(r["sentence"]) + 0.1 * float(r["coverage"]) + 0.5 * float(r["gap"])
    ),
    "… + 0.1 coverage + 0.05 one article": lambda r: (
        float(r["passage"]) + float(r["sentence"]) + 0.1 * float(r["coverage"]) + 0.05 * float(r["same_article"])
    ),
    # a word a letter off counts as held (typos, clitics; shipped at 0.2), beside exact words, number term included
    **{
        f"… + {w} {kind} − 0.05 number missing": lambda r, w=w, key=key: (
            float(r["passage"]) + float(r["sentence"]) + w * float(r[key]) - NUMBER_WEIGHT * float(r["number_missing"])
        )
        for w in (0.1, 0.2, 0.3)
        for kind, key in (("coverage", "coverage"), ("fuzzy coverage", "fuzzy"))
    },
    **{
        f"… + 0.1 fuzzy coverage + {w} of all hits − 0.05 number missing": lambda r, w=w: (
            float(r["passage"])
            + float(r["sentence"])
            + 0.1 * float(r["fuzzy"])
            + w * float(r["fuzzy_any"])
            - NUMBER_WEIGHT * float(r["number_missing"])
        )
        for w in (0.1, 0.2)
    },
    # where the question's words are (2026-12-08): measured, not shipped (docs/benchmarks.md "answerability")
    **{
        f"… + 0.2 fuzzy coverage − 0.05 number missing − {w} rarest word in no hit": lambda r, w=w: (
            _fuzzy_rule(r) - w * (1.0 - float(r["rare_any_fuzzy"]))
        )
        for w in (0.02, 0.05, 0.1)
    },
    **{
        f"… + 0.2 fuzzy coverage − 0.05 number missing + {w} best sentence's coverage": lambda r, w=w: (
            _fuzzy_rule(r) + w * float(r["sentence_fuzzy"])
        )
        for w in (0.05, 0.1)
    },
    "… + 0.2 fuzzy coverage − 0.05 number missing + 0.05 best sentence's unweighted coverage": lambda r: (
        _fuzzy_rule(r) + 0.05 * float(r["sentence_plain"])
    ),
    "second encoder": lambda r: float(r["use"]),
    # across scripts, names stand in for words (2026-12-08, shipped at 0.02)
    **{
        f"passage + sentence + 0.15 second encoder − {w} × names the passage lacks": lambda r, w=w: (
            float(r["passage"]) + float(r["sentence"]) + 0.15 * float(r["use"]) - w * _names_missing(r)
        )
        for w in (0.01, 0.02, 0.05, 0.1)
    },
    **{
        f"passage + sentence + {w} second encoder": lambda r, w=w: (
            float(r["passage"]) + float(r["sentence"]) + w * float(r["use"])
        )
        for w in (0.15, 0.5, 1.0)
    },
}


def signals(name: str, distractors: int, limit: int, data_dir: Path, smoke: bool = False) -> list[Signals]:
    """What the answerer sees for each question of one set (answerable, absent, near-miss).

    ``smoke``: only the articles the questions are about are indexed.
    """
    if name == "reverse":  # XQuAD's Arabic questions about its English articles
        records, questions = reverse_holdout(SHARED / "data" / "xquad")
    elif name == "english":  # XQuAD's English questions about its English articles
        records, questions = english_holdout(SHARED / "data" / "xquad")
    else:
        data = SHARED / "data" / name
        records, questions = holdout(load_records(data / "articles.jsonl"), load_questions(data / "questions.jsonl"))
    questions = limit_per_language(questions, limit)
    if smoke:
        records = asked_about(records, questions)
    encoder = bench_encoder(data_dir)
    out: list[Signals] = []
    with tempfile.TemporaryDirectory(prefix="sanad-answerability-") as work:
        index = fresh_index(Path(work), encoder)
        build_index(index, records, sample_distractors(NEWS, distractors) if distractors else ())
        answerer = build_answerer(index, "hybrid", 5, None)
        lexical = answerer.retriever.lexical
        idf = lexical.idf if lexical else None
        for q, query in zip(questions, make_queries([q.question for q in questions], encoder)):
            hits = answerer.retriever.search(query, answerer.config.k)
            # as the answerer reads it: ordered by both encoders across scripts, with the second one's best cosine
            evidence = read_evidence(query, hits, encoder, answerer.retriever.cross) if hits else None
            out.append(
                {
                    "lang": q.lang,
                    "kind": q.kind,
                    "arabic": query.arabic,
                    # the pair the answerer's rule is chosen by: the question and its most similar passage
                    "across": bool(hits) and crosses_scripts(query, max(hits, key=lambda h: h.similarity)),
                    "own_language": bool(hits) and max(hits, key=lambda h: h.similarity).lang == query.lang,
                    "use": evidence.second if evidence and evidence.second is not None else -1.0,
                    "passage": max((h.similarity for h in hits), default=-1.0),
                    "sentence": max((s.score for s in evidence.ranked), default=-1.0) if evidence else -1.0,
                    "coverage": coverage(query.text, hits[0].text, idf) if hits else 0.0,
                    "fuzzy": coverage(query.text, hits[0].text, idf, fuzzy=True) if hits else 0.0,
                    "fuzzy_any": coverage(query.text, " ".join(h.text for h in hits), idf, fuzzy=True) if hits else 0.0,
                    **_relative(query.text, hits, lexical.idf if lexical else None),
                    **_typed(query.text, evidence.ranked if evidence else []),
                    **_focus(query.text, evidence.ranked if evidence else [], idf),
                    **_names(query, hits),
                }
            )
    return out


def _relative(question: str, hits: list, idf: Callable[[list[str]], dict[str, float]] | None) -> Signals:
    """Signals read against the rest of the results, not one absolute cosine (the issue's method 4).

    ``gap``: the best passage's cosine above the median of the other hits'; ``rare``: whether the
    best-ranked passage holds the question's rarest word (highest idf; a word no passage holds is
    the rarest); ``rare_any``: whether any hit does; ``rare_any_fuzzy``: the same, a word a letter
    off held (as the shipped coverage counts it); ``same_article``: the share of hits from the
    best-ranked passage's article.
    """
    if not hits:
        return {"gap": 0.0, "rare": 0.0, "rare_any": 0.0, "rare_any_fuzzy": 0.0, "same_article": 0.0}
    sims = sorted((h.similarity for h in hits), reverse=True)
    gap = sims[0] - float(np.median(sims[1:])) if len(sims) > 1 else 0.0
    asked = list(dict.fromkeys(tokenize(question)))
    weights = idf(asked) if idf is not None and asked else {}
    rarest = max(weights, key=lambda t: weights[t]) if weights else None
    rare = float(rarest is not None and rarest in set(tokenize(hits[0].text)))
    rare_any = float(rarest is not None and any(rarest in set(tokenize(h.text)) for h in hits))
    every = " ".join(h.text for h in hits)
    rare_fuzzy = coverage(rarest, every, None, fuzzy=True) if rarest is not None else 0.0
    same = sum(h.article_id == hits[0].article_id for h in hits) / len(hits)
    return {"gap": gap, "rare": rare, "rare_any": rare_any, "rare_any_fuzzy": rare_fuzzy, "same_article": same}


def _focus(question: str, ranked: list, idf: Callable[[list[str]], dict[str, float]] | None) -> Signals:
    """How much of the question the best sentence holds, counted as the shipped coverage counts (a letter off held).

    ``sentence_fuzzy``: weighted by idf; ``sentence_plain``: every word weighted alike (the
    relation asked, "born", "area", weighs as much as the topic's name).
    """
    if not ranked or idf is None:
        return {"sentence_fuzzy": 0.0, "sentence_plain": 0.0}
    return {
        "sentence_fuzzy": coverage(question, ranked[0].text, idf, fuzzy=True),
        "sentence_plain": coverage(question, ranked[0].text, None, fuzzy=True),
    }


def _names(query: Query, hits: list) -> Signals:
    """Across scripts, what words cannot tell: the share of a Latin-script question's names (and numbers)
    that the most similar Arabic-script passage spells (``qa.calibration.names_missing``), and that some hit spells.

    ``names``: how many the question has (0: no signal).
    """
    keys = set() if query.arabic else name_keys(query.text)
    arabic = [h for h in hits if h.lang in ARABIC_SCRIPT_LANGS]
    if not keys or not arabic:
        return {"names": float(len(keys)), "names_best": 0.0, "names_any": 0.0}
    best = max(arabic, key=lambda h: h.similarity)
    return {  # what the answerer counts (names_missing), on the best passage and on all of them
        "names": float(len(keys)),
        "names_best": 1.0 - names_missing(query.text, best.text),
        "names_any": 1.0 - names_missing(query.text, " ".join(h.text for h in arabic)),
    }


def _typed(question: str, ranked: list) -> Signals:
    """Whether the question asks for a number or a date and its best evidence sentence states none."""
    return {"number_missing": float(asks_number(question) and not (ranked and states_number(ranked[0].text)))}


def rates(rows: list[Signals], answers: Callable[[Signals], bool]) -> list[str]:
    """answered (of answerable), refused absent, refused near-miss."""
    out = []
    for kind in KINDS:
        group = [r for r in rows if r["kind"] == kind]
        if not group:
            out.append("–")
            continue
        answered = float(np.mean([answers(r) for r in group]))
        out.append(f"{answered if kind == 'answerable' else 1 - answered:.3f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distractors", type=int, nargs="+", default=[0, 1000])
    ap.add_argument("--answered", type=float, default=0.93, help="share of answerable XQuAD questions to answer")
    ap.add_argument("--limit", type=int, default=0, help="questions per language and kind (0 = all)")
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--save", type=Path, help="write each question's signals here (signals-<distractors>.json)")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.distractors, args.limit, args.output = [0], 4, Path(tempfile.mkdtemp()) / "benchmarks.md"
    shipped = calibration_for(bench_encoder(args.data_dir))
    headers = ["distractors", "question and best passage", "rule", "threshold", "XQuAD answered", "absent"]
    headers += ["near-miss", "confirmed on", "answered", "absent", "near-miss"]
    rows: list[list[object]] = []
    for n in args.distractors:
        sets = {
            name: signals(name, n, args.limit, args.data_dir, args.smoke)
            for name in ("xquad", "arcd", "reverse", "english")
        }
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"signals-{n}.json").write_text(json.dumps(sets), encoding="utf-8")
        groups = (  # fit on, pair, confirm on (None: the shipped row, fitted elsewhere, is the confirmation)
            ("xquad", False, "arcd"),
            ("xquad", True, "reverse"),
            ("english", False, None),
        )
        for fitted_on, across, other in groups:
            fit = [r for r in sets[fitted_on] if r["across"] == across]
            confirm = [r for r in sets[other] if r["across"] == across] if other else []
            scripts = "in two scripts" if across else "in one script"
            if fitted_on == "english":
                scripts = "English about English"
            rules: list[tuple[str, Callable[[Signals], bool], str]] = [("shipped", _shipped(shipped), "")]
            for name, score in RULES.items():
                if "second encoder" in name and not across:
                    continue  # it is read only when scripts cross
                if "number missing" in name and across:
                    continue  # words and numbers are looked up within one script only
                positives = [score(r) for r in fit if r["kind"] == "answerable"]
                if not positives:
                    continue
                cut = float(np.quantile(positives, 1 - args.answered))
                rules.append((name, lambda r, s=score, c=cut: s(r) >= c, f"{cut:.3f}"))
            label = {"arcd": "ARCD", "reverse": "XQuAD reversed", None: "–"}[other]
            for name, answers, cut in rules:
                tail = rates(confirm, answers) if confirm else ["–", "–", "–"]
                rows.append([n, scripts, name, cut or "calibration.json", *rates(fit, answers), label, *tail])
                print(table(headers, rows[-1:]), flush=True)
    result = table(headers, rows)
    update_section(
        args.output,
        "answerability",
        "## Answerability: when to refuse (fit XQuAD, confirm ARCD and XQuAD reversed)\n\n"
        f"Measured {machine()}. Articles split in thirds (answerable / absent / near-miss, "
        "`qa.evaluate.holdout`), the shipped hybrid retriever with re-ranking. Questions are grouped by the "
        "pair the answerer's rule is chosen by: the question and its most similar passage in one script, or "
        "in two. Each rule's threshold is fitted so that "
        f"{args.answered:.0%} of XQuAD's answerable questions of the group are answered, and confirmed unfitted "
        "on ARCD (native Arabic; one script) or on XQuAD reversed (its Arabic questions about its English "
        "originals; two scripts). *English about English*: XQuAD's English questions against its English "
        "originals (native English text; with distractors the index holds both scripts, and only the "
        "questions whose most similar passage is English are in this group), fitted there with no second "
        "set to confirm on, so the shipped threshold (fitted on Arabic) is what it confirms. "
        "*passage*: best passage cosine; *sentence*: best evidence sentence cosine; "
        "*coverage*: share of the question's BM25 idf weight whose words the best passage holds (it counts "
        "within one script only); *fuzzy coverage*: the same, a word of 5 letters or more held when it and a "
        "passage word become one by dropping a letter from each (what the shipped rule counts); *of all hits*: "
        "fuzzy coverage of the five hits together; *rarest word in no hit*: the question's word of highest idf "
        "(fuzzy) is in none of the five hits; *best sentence's coverage*: fuzzy coverage of the best "
        "sentence alone (*unweighted*: every question word counts alike); *names the passage lacks*: the "
        "share of a Latin-script question's names and numbers "
        "(capitalised words, digits) the most similar Arabic-script passage does not spell (index/translit.py), "
        "what the shipped rule across scripts counts since 2026-12-08; *number missing*: the question asks for "
        "a number or a date "
        "and the best sentence states none; *second encoder*: the best evidence sentence's cosine under "
        "USE multilingual v3. Cells: answered (of answerable), refused (of absent), refused (of near-miss).\n\n"
        f"{result}\n\nReproduce: `{command()}`",
    )


def _shipped(calibration: Calibration) -> Callable[[Signals], bool]:
    return lambda r: calibration.answerable(
        not r["across"] and (bool(r["arabic"]) or bool(r["own_language"])),
        float(r["passage"]),
        float(r["sentence"]),
        float(r["fuzzy"]),
        float(r["use"]) if r["across"] and float(r["use"]) > -1.0 else None,
        number_missing=bool(r["number_missing"]),
        names_missing=None if r["arabic"] else _names_missing(r),
    )


def _names_missing(r: Signals) -> float:
    """What the answerer counts across scripts: the share of a Latin-script question's names its passage lacks."""
    return (1.0 - float(r["names_best"])) if r["across"] and float(r["names"]) > 0 else 0.0


if __name__ == "__main__":
    main()
