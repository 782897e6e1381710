"""Latency as users see it: `sanad ask` (a whole process) and `/api/ask` of a running server.

Questions: the first N Arabic and N English XQuAD questions, answered over the demo index
(the 48 XQuAD articles and the seed article, built in the data dir if it is empty).

Baselines from the same run, so a busy machine shows as a ratio rather than a wrong number:
- `sanad ask` against `sanad stats` (the same process start and model load, no answering);
- `/api/ask` as the client sees it against the engine's own `timings_ms.total` (HTTP and
  JSON overhead); first token from `/api/ask/stream`.

    python bench/latency.py --llm extractive local --n 10
    python bench/latency.py --smoke
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import DEFAULT_REPORT, ROOT, SHARED, machine, table, update_section  # noqa: E402
from tests.processes import free_port, wait_ready  # noqa: E402

SANAD = Path(sys.executable).parent / "sanad"


def questions(n: int, other_than: list[str] | None = None) -> list[str]:
    """The first ``n`` Arabic and ``n`` English XQuAD questions, interleaved.

    With ``other_than``: the first ones about other articles than those questions ask about.
    """
    records = [json.loads(line) for line in open(SHARED / "data" / "xquad" / "questions.jsonl", encoding="utf-8")]
    asked = {r["question"] for r in records} & set(other_than or [])
    shun = {r["article_id"] for r in records if r["question"] in asked}  # both languages ask about the Arabic one
    records = [r for r in records if r["article_id"] not in shun]
    ar = [r["question"] for r in records if r["lang"] == "ar"][:n]
    en = [r["question"] for r in records if r["lang"] == "en"][:n]
    return [q for pair in zip(ar, en) for q in pair]


def percentiles(seconds: list[float]) -> tuple[str, str]:
    """p50 and p95 in milliseconds."""
    return f"{np.percentile(seconds, 50) * 1000:.0f}", f"{np.percentile(seconds, 95) * 1000:.0f}"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def cli_rows(llm: str, qs: list[str], env: dict[str, str]) -> list[list[object]]:
    """`sanad ask` wall time per question, and `sanad stats` as the start-up baseline."""
    ask = [timed([str(SANAD), "ask", q, "--llm", llm], env) for q in qs]
    start = [timed([str(SANAD), "stats"], env) for _ in range(max(3, len(qs) // 4))]
    p50, p95 = percentiles(ask)
    s50, _ = percentiles(start)
    ratio = np.percentile(ask, 50) / np.percentile(start, 50)
    return [[f"`sanad ask --llm {llm}`", len(qs), "-", p50, p95, f"`sanad stats` {s50}", f"{ratio:.2f}"]]


def api_rows(llm: str, qs: list[str], streamed: list[str], env: dict[str, str]) -> list[list[object]]:
    """`/api/ask` latency seen by the client for ``qs``, against the engine's own time; first token for ``streamed``.

    ``streamed`` are questions about other articles: one asked twice, or one reading the same
    passages, would find its prompt (or most of it) in the model server's cache, and its
    sentences in memory, which makes a first token no user waits for.
    """
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env={**env, "SANAD_LLM": llm, "SANAD_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server, timeout=600)
        with httpx.Client(base_url=base, timeout=600) as client:
            client.post("/api/ask", json={"question": "warm-up"})
            seen, engine, first = [], [], []
            for q in qs:
                t0 = time.perf_counter()
                answer = client.post("/api/ask", json={"question": q}).raise_for_status().json()
                seen.append(time.perf_counter() - t0)
                engine.append(answer["timings_ms"]["total"] / 1000)
            for q in streamed:
                t0 = time.perf_counter()
                with client.stream("POST", "/api/ask/stream", json={"question": q}) as r:
                    for line in r.iter_lines():
                        if line.startswith("event: token"):
                            first.append(time.perf_counter() - t0)
                            break
    finally:
        server.terminate()
        server.wait(timeout=60)
    p50, p95 = percentiles(seen)
    e50, _ = percentiles(engine)
    f50, _ = percentiles(first)
    ratio = np.percentile(seen, 50) / np.percentile(engine, 50)
    return [[f"`POST /api/ask`, {llm}", len(qs), f50, p50, p95, f"engine {e50}", f"{ratio:.2f}"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llm", nargs="+", default=["extractive", "local"], choices=["extractive", "local"])
    ap.add_argument("--n", type=int, default=10, help="questions per language")
    ap.add_argument("--data-dir", type=Path, default=None, help="data dir (default: a new temp dir)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["cli", "api"])
    ap.add_argument("--output", type=Path, default=DEFAULT_REPORT)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.llm, args.n, args.output = ["extractive"], 1, Path(tempfile.mkdtemp()) / "benchmarks.md"
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="sanad-latency-"))
    env = {**os.environ, "SANAD_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    if args.smoke:  # a one-article index is enough to time the path
        demo = Path(tempfile.mkdtemp()) / "seed.md"
        demo.write_bytes((ROOT / "examples" / "articles" / "baghouz-ar.md").read_bytes())
        env["SANAD_DEMO_ARTICLES"] = str(demo.parent)
        subprocess.run([str(SANAD), "ingest", "--quiet", str(demo)], env=env, check=True, capture_output=True)
    else:
        subprocess.run([str(SANAD), "ingest", "--quiet", str(ROOT / "examples" / "articles")], env=env, check=True)
    qs = questions(args.n)
    rows = []
    for llm in args.llm:
        if "cli" not in args.skip:
            rows += cli_rows(llm, qs, env)
            print(table(HEADERS, rows[-1:]), flush=True)
        if "api" not in args.skip:
            rows += api_rows(llm, qs, questions(args.n, other_than=qs), env)
            print(table(HEADERS, rows[-1:]), flush=True)
    result = table(HEADERS, rows)
    print(result)
    update_section(
        args.output,
        "latency",
        "## Latency: `sanad ask` and `/api/ask`\n\n"
        f"{len(qs)} XQuAD questions ({args.n} Arabic, {args.n} English) over the demo index (49 articles), "
        f"one at a time, measured {machine()}. `sanad ask` is a whole process (start, model load, answer); its "
        "baseline is `sanad stats`, the same start without answering. `/api/ask` is measured by an HTTP client "
        "against a running `python app.py`; its baseline is the engine's own `timings_ms.total` for the same "
        "requests, so the ratio is what HTTP and JSON add. *First token* is the first `token` event of "
        "`/api/ask/stream`, for as many questions about other articles: a question asked twice, or about "
        "the same passages, would find its prompt (or most of it) in the model server's cache.\n\n"
        f"{result}\n\nReproduce: `.venv/bin/python bench/latency.py --llm {' '.join(args.llm)} --n {args.n}`",
    )


HEADERS = ["path", "questions", "first token p50 ms", "p50 ms", "p95 ms", "baseline p50 ms", "p50 / baseline"]

if __name__ == "__main__":
    main()
