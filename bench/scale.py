"""Query latency and memory as the index grows: 1k, 10k and 100k passages, embedded Chroma and `chroma run`.

The pool is XQuAD's Arabic articles (so the questions have answers) followed by news articles
from ../shared/data/news, cut by the shipped chunker; an index of n passages holds the first n.
Passage vectors come from the embedding cache under the data dir (the first run embeds them
with the shipped backend and says how long that took). Per size and Chroma mode: time to load
the index, p50/p95 of retrieval alone (shipped hybrid: query vector + HNSW + BM25 + fusion; a
different question each time, so no remembered query vector) and of a full extractive answer,
the first search (which builds BM25 from its file), a search right after a 64-passage write
(BM25 appends), and RSS of this process and of the Chroma server. Each cell runs twice: with
the passages' sentence vectors stored beside them (as ingestion writes them) and without (the
baseline: re-ranking embeds its candidates' sentences). Writes a table to docs/benchmarks.md
and a plot to docs/scale.png.

    python bench/scale.py                              # 1k, 10k, 100k; embedded and server
    python bench/scale.py --smoke                      # 300 passages; temp report
"""

from __future__ import annotations

import argparse
import gc
import gzip
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from bench._index import encoder as bench_encoder  # noqa: E402
from bench._index import fresh_index  # noqa: E402
from bench._report import DEFAULT_REPORT, NEWS, ROOT, XQUAD, machine, table, update_section  # noqa: E402
from index.hybrid import HybridIndex  # noqa: E402
from index.ingest import embedding_text, make_passages, sentence_rows  # noqa: E402
from index.loaders import article_from_record, load_paths  # noqa: E402
from index.store import ChromaServer  # noqa: E402
from index.types import Article, Passage  # noqa: E402
from qa.engine import build_answerer  # noqa: E402
from qa.evaluate import load_questions  # noqa: E402
from qa.query import make_query  # noqa: E402
from tests.processes import free_port, start_chroma  # noqa: E402

MB = 1024 * 1024
WRITE = 64  # passages written between two questions, as during an ingestion


def pool(size: int) -> list[Passage]:
    """The first ``size`` passages: XQuAD's articles, then news articles in one seeded order."""
    passages = [p for a in load_paths([XQUAD / "articles.jsonl"]) if isinstance(a, Article) for p in make_passages(a)]
    with gzip.open(NEWS, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    order = list(range(len(lines)))
    random.Random(0).shuffle(order)  # the order of qa.evaluate.sample_distractors: its vectors are cached
    for i in order:
        if len(passages) >= size:
            break
        article = article_from_record(json.loads(lines[i]), f"{NEWS}:{i + 1}", f"distractor-{i}")
        if isinstance(article, Article):
            passages += make_passages(article)
    return passages[:size]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def measure(index: HybridIndex, questions: list[str], answers: int) -> dict[str, float]:
    answerer = build_answerer(index)
    retriever = answerer.retriever
    t0 = time.perf_counter()
    retriever.search(make_query("warm-up " + questions[0], index.encoder), k=5)  # loads HNSW, builds BM25
    first = time.perf_counter() - t0
    retrieval, answer = [], []
    for i, q in enumerate(questions):  # each asked once: a second time, its sentences would be in memory
        t0 = time.perf_counter()
        if i < answers:
            answerer.answer(q)
            answer.append(1000 * (time.perf_counter() - t0))
        else:
            retriever.search(make_query(q, index.encoder), k=5)  # a question's whole retrieval, its vector included
            retrieval.append(1000 * (time.perf_counter() - t0))
    return {
        "first_ms": 1000 * first,
        "retrieval_p50": statistics.median(retrieval),
        "retrieval_p95": percentile(retrieval, 0.95),
        "answer_p50": statistics.median(answer),
        "answer_p95": percentile(answer, 0.95),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--modes", nargs="+", default=["embedded", "server"], choices=["embedded", "server"])
    ap.add_argument("--questions", type=int, default=100, help="questions per size (half ar, half en)")
    ap.add_argument("--answers", type=int, default=40, help="of them answered in full (extractive); the rest retrieved")
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "scale.png")
    ap.add_argument("--prepare", action="store_true", help="only embed (and cache) the pool's vectors, then stop")
    ap.add_argument(
        "--sentences",
        nargs="+",
        default=["stored", "embedded"],
        choices=["stored", "embedded"],
        help="sentence vectors stored at ingestion, or embedded by each question (the baseline)",
    )
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.questions, args.answers = [300], 6, 2  # one size: each cell runs twice (sentences)
        args.output = Path(tempfile.mkdtemp()) / "benchmarks.md"
        args.plot = args.output.with_name("scale.png")

    me = psutil.Process()
    embeddings = bench_encoder(args.data_dir)
    passages = pool(max(args.sizes) + WRITE)
    t0 = time.perf_counter()
    texts = [embedding_text(p, True) for p in passages]
    parts = []
    for i in range(0, len(texts), 2000):  # cached part by part: an interrupted first run keeps its work
        parts.append(embeddings.encode_passages(texts[i : i + 2000]))
        print(f"  {i + len(parts[-1]):,} / {len(texts):,} vectors, {time.perf_counter() - t0:.0f} s", flush=True)
    vectors = np.concatenate(parts)
    embed_seconds = time.perf_counter() - t0
    print(f"{len(passages)} passage vectors in {embed_seconds:.0f} s ({embeddings.backend}, cache)", flush=True)
    sentences = sentence_rows(passages) if "stored" in args.sentences else ([], [], [])
    t0 = time.perf_counter()
    sentence_vectors = np.zeros((0, embeddings.dimension), np.float32)
    if sentences[0]:
        unique = list(dict.fromkeys(sentences[2]))
        by_text = dict(zip(unique, embeddings.encode_passages(unique)))
        sentence_vectors = np.stack([by_text[t] for t in sentences[2]])
    sentence_seconds = time.perf_counter() - t0
    print(f"{len(sentences[0])} sentence vectors in {sentence_seconds:.0f} s (cache)", flush=True)
    if args.prepare:
        return
    # measure as the service runs: no vector cache (else evidence sentences embedded for one cell
    # would be free in the next)
    embeddings._cache = None
    del parts
    qs = load_questions(XQUAD / "questions.jsonl")
    random.Random(1).shuffle(qs)
    half = args.questions // 2
    questions = [q.question for q in qs if q.lang == "ar"][:half] + [q.question for q in qs if q.lang == "en"][:half]
    random.Random(2).shuffle(questions)

    rows_of: dict[str, list[int]] = {}
    for j, owner in enumerate(sentences[1]):
        rows_of.setdefault(owner, []).append(j)

    def write(index: HybridIndex, which: range, with_sentences: bool) -> None:
        """Passages ``which`` of the pool, with their sentence vectors when ``with_sentences``, as ingestion writes."""
        index.write(passages[which.start : which.stop], vectors[which.start : which.stop])
        if with_sentences:
            keep = [j for i in which for j in rows_of.get(passages[i].id, [])]
            ids, owners = [sentences[0][j] for j in keep], [sentences[1][j] for j in keep]
            index.dense.sentences.write(ids, owners, sentence_vectors[keep])

    rows: list[list[object]] = []
    series: dict[str, list[tuple[int, dict[str, float]]]] = {}
    for way, mode, size in itertools.product(args.sentences, args.modes, args.sizes):
        gc.collect()
        embeddings.recent.clear()  # each cell starts as a fresh server: no sentence read before
        with tempfile.TemporaryDirectory(prefix="sanad-scale-") as work:
            server, chroma = None, None
            if mode == "server":
                port = free_port()
                server = start_chroma(Path(work) / "chroma", port)
                chroma = ChromaServer("127.0.0.1", port)
            try:
                rss_before = me.memory_info().rss
                index = fresh_index(Path(work), embeddings, "scale", chroma)
                t0 = time.perf_counter()
                for i in range(0, size, 1000):
                    write(index, range(i, min(size, i + 1000)), way == "stored")
                load_seconds = time.perf_counter() - t0
                m = measure(index, questions, args.answers)
                # a write, then a question: the lexical index follows by appending, not rebuilding
                write(index, range(size, size + WRITE), way == "stored")
                t0 = time.perf_counter()
                query = make_query(questions[-1] + " after a write", embeddings)
                build_answerer(index).retriever.search(query, k=5)
                m["after_write_ms"] = 1000 * (time.perf_counter() - t0)
                rss = me.memory_info().rss
                server_rss = psutil.Process(server.pid).memory_info().rss if server else 0
            finally:
                if server is not None:
                    server.terminate()
                    server.wait(timeout=60)
        rows.append(
            [
                way,
                mode,
                f"{size:,}",
                f"{load_seconds:.0f}",
                f"{m['first_ms']:.0f}",
                f"{m['after_write_ms']:.0f}",
                f"{m['retrieval_p50']:.0f} / {m['retrieval_p95']:.0f}",
                f"{m['answer_p50']:.0f} / {m['answer_p95']:.0f}",
                f"{rss / MB:.0f} ({(rss - rss_before) / MB:+.0f})",
                f"{server_rss / MB:.0f}" if server else "-",
            ]
        )
        series.setdefault(f"{mode}, sentences {way}", []).append((size, m))
        print(rows[-1], flush=True)

    headers = [
        "sentence vectors",
        "Chroma",
        "passages",
        "write s",
        "first search ms (BM25 build)",
        f"search after a {WRITE}-passage write ms",
        "retrieval ms p50 / p95",
        "extractive answer ms p50 / p95",
        "app RSS MB (growth)",
        "server RSS MB",
    ]
    out = table(headers, rows)
    print(out)
    _plot(series, args.plot)
    body = (
        f"## Query latency and memory by index size\n\n_{machine()}_\n\n"
        f"`python bench/scale.py --sizes {' '.join(map(str, args.sizes))}` — XQuAD's Arabic articles + news "
        f"passages, {args.questions} questions (half Arabic, half English), {args.answers} full extractive "
        f"answers per size; backend {embeddings.backend}. The {len(passages):,} passage vectors took "
        f"{embed_seconds / 60:.1f} min to get, their {len(sentences[0]):,} sentence vectors "
        f"{sentence_seconds / 60:.1f} min (vectors already in the embedding cache in `data/cache/` are not "
        f"embedded again). Sentence vectors *stored*: written beside the passages, as ingestion does; "
        f"*embedded*: not stored, so re-ranking embeds its candidates' sentences (the baseline). "
        f"Plot: [scale.png](scale.png).\n\n" + out
    )
    update_section(args.output, "scale", body)


def _plot(series: dict[str, list[tuple[int, dict[str, float]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for mode, points in series.items():
        sizes = [s for s, _ in points]
        for key, style in (("retrieval", "-o"), ("answer", "--s")):
            ax.plot(sizes, [m[f"{key}_p50"] for _, m in points], style, label=f"{key} p50, {mode}")
    ax.set_xscale("log")
    ax.set_xlabel("passages in the index")
    ax.set_ylabel("ms")
    ax.set_title("Sanad: latency by index size")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
