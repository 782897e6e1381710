"""Calibrate the two similarity thresholds the answerer relies on, on XQuAD, with two-fold checks.

1. Abstention: index half of the articles; questions about them should be answered, questions
   about the other half refused. The score is the best passage's cosine similarity; one
   threshold for Arabic-script questions, one for others (cross-lingual scores run lower).
2. Citation support: a claim ("question + answer") against the sentences of its gold paragraph
   (supported) and of another paragraph of the same article (not supported), for each pair of
   question and answer language (XQuAD gives every answer in Arabic and English): the claim's
   languages change its similarity to the (Arabic) sentences, an all-English claim scoring lowest.

Thresholds are chosen on one fold and reported on the other, then averaged.

    python bench/calibrate.py
    python bench/calibrate.py --smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._index import encoder as bench_encoder  # noqa: E402
from bench._index import fresh_index  # noqa: E402
from bench._report import DEFAULT_REPORT, XQUAD, command, machine, table, update_section  # noqa: E402
from index.chunking import split_sentences  # noqa: E402
from index.embeddings import Encoder  # noqa: E402
from qa.evaluate import Question, build_index, limit_per_language, load_questions  # noqa: E402
from qa.query import make_queries  # noqa: E402
from qa.retrieve import Retriever  # noqa: E402


def best_threshold(pos: np.ndarray, neg: np.ndarray) -> float:
    """The cut maximising balanced accuracy (mean of answered-recall and refused-recall)."""
    cuts = np.unique(np.concatenate([pos, neg]))
    acc = [((pos >= c).mean() + (neg < c).mean()) / 2 for c in cuts]
    return float(cuts[int(np.argmax(acc))])


def rates(pos: np.ndarray, neg: np.ndarray, cut: float) -> tuple[float, float]:
    return float((pos >= cut).mean()), float((neg < cut).mean())


def abstention(embeddings: Encoder, questions: list[Question], articles: list[dict], work: Path):
    ids = sorted(a["id"] for a in articles)
    folds = [set(ids[0::2]), set(ids[1::2])]
    scores: list[dict[str, dict[str, np.ndarray]]] = []
    for f, indexed in enumerate(folds):
        path = work / f"fold{f}.jsonl"
        path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles if a["id"] in indexed))
        index = fresh_index(work, embeddings, f"fold{f}")
        build_index(index, path)
        retriever = Retriever(index.dense, mode="dense")
        fold: dict[str, dict[str, list[float]]] = {}
        for q, query in zip(questions, make_queries([q.question for q in questions], embeddings)):
            top = retriever.search(query, k=1)
            group = fold.setdefault(q.lang, {"pos": [], "neg": []})
            group["pos" if q.article_id in indexed else "neg"].append(top[0].similarity if top else -1.0)
        scores.append({lang: {k: np.array(v) for k, v in g.items()} for lang, g in fold.items()})
    return _two_fold(scores)


def citation_support(
    embeddings: Encoder, questions: list[Question], articles: dict[str, dict], answers: dict[str, dict[str, list[str]]]
):
    """Two-fold support thresholds by question and answer language (``answers``: by question id, then language)."""
    scores: list[dict[str, dict[str, list[float]]]] = [{}, {}]
    for i, q in enumerate(questions):
        article = articles[q.article_id]
        paragraphs = [tuple(p) for p in article["paragraph_spans"]]
        others = [p for p in paragraphs if p != q.gold]
        if not others:
            continue
        for lang, golds in sorted((answers.get(q.id) or {"given": list(q.answers)}).items()):
            if not golds:
                continue
            claim = f"{q.question} {golds[0]}"
            sims = {}
            for name, (a, b) in (("pos", q.gold), ("neg", others[i % len(others)])):
                text = article["text"][a:b]
                sentences = [text[s.start : s.end] for s in split_sentences(text)]
                vectors = embeddings.encode_passages([claim] + sentences)
                sims[name] = float((vectors[1:] @ vectors[0]).max())
            group = scores[i % 2].setdefault(f"{q.lang}, {lang} answer", {"pos": [], "neg": []})
            for name, value in sims.items():
                group[name].append(value)
    return _two_fold([{lang: {k: np.array(v) for k, v in g.items()} for lang, g in f.items()} for f in scores])


def _two_fold(scores):
    """Per language: threshold fitted on each fold, rates measured on the other."""
    out = {}
    for lang in sorted(scores[0]):
        cuts, kept, refused = [], [], []
        for fit, test in ((0, 1), (1, 0)):
            cut = best_threshold(scores[fit][lang]["pos"], scores[fit][lang]["neg"])
            k, r = rates(scores[test][lang]["pos"], scores[test][lang]["neg"], cut)
            cuts.append(cut)
            kept.append(k)
            refused.append(r)
        out[lang] = (float(np.mean(cuts)), float(np.mean(kept)), float(np.mean(refused)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--limit", type=int, default=0, help="questions per language (0 = all)")
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.limit, args.output = 6, Path(tempfile.mkdtemp()) / "benchmarks.md"
    articles = [json.loads(line) for line in open(XQUAD / "articles.jsonl", encoding="utf-8")]
    questions = limit_per_language(load_questions(XQUAD / "questions.jsonl"), args.limit)
    if args.smoke:
        keep = {q.article_id for q in questions} | {a["id"] for a in articles[:4]}
        articles = [a for a in articles if a["id"] in keep]
    embeddings = bench_encoder(args.data_dir)
    with tempfile.TemporaryDirectory(prefix="sanad-calibrate-") as work:
        abstain = abstention(embeddings, questions, articles, Path(work))
    by_lang = {}
    with open(XQUAD / "questions.jsonl", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            by_lang[record["id"]] = record.get("answers_by_lang") or {}
    support = citation_support(embeddings, questions, {a["id"]: a for a in articles}, by_lang)
    rows = [
        ["abstention (best passage score)", lang, f"{c:.3f}", f"{k:.3f}", f"{r:.3f}"]
        for lang, (c, k, r) in abstain.items()
    ]
    rows += [
        ["citation support (claim vs sentence)", lang, f"{c:.3f}", f"{k:.3f}", f"{r:.3f}"]
        for lang, (c, k, r) in support.items()
    ]
    result = table(
        ["threshold", "question lang", "value (mean of folds)", "kept when right", "refused when wrong"], rows
    )
    print(result)
    update_section(
        args.output,
        "calibration",
        "## Calibrated thresholds (XQuAD, two-fold)\n\n"
        f"{len(questions)} questions, measured {machine()}, embedding backend {embeddings.backend}. "
        "*kept when right*: answerable questions answered (or supported claims accepted); "
        "*refused when wrong*: unanswerable questions refused (or unsupported "
        "claims rejected), each measured on the fold the threshold was not fitted on.\n\n"
        f"{result}\n\nReproduce: `{command()}`",
    )


if __name__ == "__main__":
    main()
