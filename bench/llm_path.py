"""The local LLM path: time to first token and tokens/s, 1 vs 2 threads, idle and during an ingestion.

Each configuration starts its own xllamacpp server (so no prompt is cached from another run)
and sends the same real answer prompts: XQuAD questions with their evidence, built by the
shipped prompt template, streamed over the OpenAI-compatible API. "During an ingestion" runs
`sanad ingest` of news articles into a scratch index in another process for the whole
measurement, as when someone uploads articles while others ask.

    python bench/llm_path.py                       # 6 prompts per configuration (~8 minutes)
    python bench/llm_path.py --smoke               # 1 prompt, 1 thread, idle; temp report
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench._report import DEFAULT_REPORT, NEWS, XQUAD, machine, table, update_section  # noqa: E402
from qa.evaluate import load_questions  # noqa: E402
from qa.generate import messages_for  # noqa: E402
from qa.local_llm import LocalServer, ensure_gguf  # noqa: E402


def prompts(n: int) -> list[list[dict[str, str]]]:
    """``n`` answer prompts (alternating ar / en) with the gold paragraph's sentences as evidence."""
    articles = {json.loads(x)["id"]: json.loads(x) for x in (XQUAD / "articles.jsonl").open(encoding="utf-8")}
    questions = load_questions(XQUAD / "questions.jsonl")
    ar = [q for q in questions if q.lang == "ar"][::97]
    en = [q for q in questions if q.lang == "en"][::97][1:]
    out = []
    for q in itertools.islice(itertools.chain.from_iterable(zip(ar, en)), n):
        article = articles[q.article_id]
        start, end = q.gold
        items = [{"n": 1, "source": article["title"], "date": "", "text": article["text"][start:end][:1500]}]
        role = {"system": "system", "human": "user", "ai": "assistant"}  # the prompt's few-shot examples included
        out.append([{"role": role[m.type], "content": m.content} for m in messages_for(q.question, q.lang, items)])
    return out


def stream_one(base_url: str, messages: list[dict[str, str]], max_tokens: int) -> dict[str, float]:
    """Send one prompt; time to first token, decode tokens/s, prompt tokens."""
    body = {
        "model": "local",
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    t0 = time.perf_counter()
    first = last = None
    usage = {}
    with httpx.stream("POST", f"{base_url}/chat/completions", json=body, timeout=600) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            if any((c.get("delta") or {}).get("content") for c in chunk.get("choices", [])):
                now = time.perf_counter()
                first = first or now
                last = now
    assert first is not None and last is not None, "the model streamed no text"
    tokens = int(usage.get("completion_tokens", 0))
    return {
        "ttft": first - t0,
        "tokens_per_s": (tokens - 1) / (last - first) if tokens > 1 and last > first else 0.0,
        "prompt_tokens": float(usage.get("prompt_tokens", 0)),
        "tokens": float(tokens),
    }


def ingestion(work: Path, articles: int) -> subprocess.Popen:
    """`sanad ingest` of news articles into a scratch index under ``work``, in another process."""
    feed = work / "news.jsonl"
    with gzip.open(NEWS, "rt", encoding="utf-8") as src, open(feed, "w", encoding="utf-8") as dst:
        dst.writelines(itertools.islice(src, articles))
    data = work / "data"
    data.mkdir()
    (data / "models").symlink_to(Path(os.environ["SANAD_BENCH_MODELS"]).resolve())
    env = {**os.environ, "SANAD_DATA_DIR": str(data)}
    sanad = Path(sys.executable).parent / "sanad"
    return subprocess.Popen(
        [str(sanad), "ingest", str(feed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--conditions", nargs="+", default=["idle", "ingesting"], choices=["idle", "ingesting"])
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.threads, args.conditions, args.prompts, args.max_tokens = [1], ["idle"], 1, 8
        args.output = Path(tempfile.mkdtemp()) / "benchmarks.md"

    gguf = ensure_gguf(args.data_dir / "models")
    os.environ["SANAD_BENCH_MODELS"] = str(args.data_dir / "models")
    work_prompts = prompts(args.prompts)
    rows = []
    for threads in args.threads:
        for condition in args.conditions:
            # a fresh server per configuration: llama.cpp's prompt cache must not serve a prompt it saw before
            server = LocalServer(gguf, threads=threads)
            stream_one(server.base_url, [{"role": "user", "content": "Say OK."}], 4)  # load the weights
            work = Path(tempfile.mkdtemp(prefix="sanad-llm-"))
            busy = ingestion(work, 2000) if condition == "ingesting" else None
            try:
                if busy is not None:
                    time.sleep(20)  # past the ingester's start-up, into embedding
                    assert busy.poll() is None, "the ingestion ended before the measurement"
                results = [stream_one(server.base_url, m, args.max_tokens) for m in work_prompts]
                if busy is not None:
                    assert busy.poll() is None, "the ingestion ended during the measurement: use more articles"
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
                shutil.rmtree(work, ignore_errors=True)
                del server
            ttft = [r["ttft"] for r in results]
            rate = [r["tokens_per_s"] for r in results]
            rows.append(
                [
                    threads,
                    condition,
                    len(results),
                    f"{statistics.mean(r['prompt_tokens'] for r in results):.0f}",
                    f"{statistics.median(ttft):.2f} / {max(ttft):.2f}",
                    f"{statistics.median(rate):.1f}",
                    f"{statistics.median(r['prompt_tokens'] / r['ttft'] for r in results):.0f}",
                ]
            )
            print(rows[-1], flush=True)

    headers = [
        "threads",
        "machine",
        "prompts",
        "prompt tokens (mean)",
        "first token s p50 / max",
        "tokens/s p50",
        "prompt tokens/s",
    ]
    out = table(headers, rows)
    print(out)
    body = (
        f"## Local LLM: threads and contention\n\n_{machine()}_\n\n"
        f"`python bench/llm_path.py` — Qwen2.5-Coder-1.5B-Instruct Q4_K_M under xllamacpp, {args.prompts} real "
        f"answer prompts (XQuAD question + gold paragraph, shipped template, ar/en alternating), up to "
        f"{args.max_tokens} tokens each, streamed; 'ingesting' = `sanad ingest` of news articles running in "
        "another process throughout. Plot: [llm-path.png](llm-path.png).\n\n" + out
    )
    _plot(rows, args.output.parent / "llm-path.png")
    update_section(args.output, "llm-path", body)


def _plot(rows: list[list], path: Path) -> None:
    """First-token time and tokens/s per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r[0]} thread{'s' if r[0] > 1 else ''}\n{r[1]}" for r in rows]
    fig, (first, rate) = plt.subplots(1, 2, figsize=(9, 3.6))
    first.bar(labels, [float(r[4].split(" / ")[0]) for r in rows], color="#dd8452")
    first.set_ylabel("s (p50)")
    first.set_title("time to first token")
    rate.bar(labels, [float(r[5]) for r in rows], color="#55a868")
    rate.set_ylabel("tokens/s (p50)")
    rate.set_title("generation speed")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
