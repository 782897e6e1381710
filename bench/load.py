"""Load: concurrent clients asking through /api/ask while articles are ingested over the API.

Starts `python app.py` on 127.0.0.1 over the demo index (extractive answers), runs N client
threads in a bounded loop for S seconds, and meanwhile POSTs news articles to /api/articles.
Reports requests, errors, answer latency p50/p95/max, ingestion time, and whether the dense and
lexical indexes agree afterwards. Writes the table to docs/reliability.md.

With ``--llm local`` the clients ask through ``/api/ask/stream`` as the chat does, and the report
adds the first-token time and how the answers were written (by the model, or quoted because the
model was busy past the wait budget or its answer failed the checks).

    python bench/load.py --clients 16 --seconds 60 --articles 100
    python bench/load.py --llm local --clients 8 --seconds 180 --articles 0 --data-dir data
    python bench/load.py --smoke
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import ROOT, SHARED, machine, table, update_section  # noqa: E402
from tests.processes import free_port, wait_ready  # noqa: E402

QUESTIONS = [
    "Who controls Baghouz?",
    "من يسيطر على الباغوز؟",
    "And who shelled it?",
    "متى تأسست جامعة هارفارد؟",
    "What is the capital of Kenya?",
    "ما هي عاصمة كينيا؟",
    "How many points did the Panthers defense give up?",
    "What is the recipe for sourdough bread?",
]
REPORT = ROOT / "docs" / "reliability.md"


@dataclass
class Load:
    """What the clients saw."""

    latencies: list[float] = field(default_factory=list)
    first_tokens: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    written: Counter = field(default_factory=Counter)  # by the model, refused, quoted (and why)
    errors: list[str] = field(default_factory=list)


def streamed(http: httpx.Client, question: str, t0: float) -> tuple[int, dict, float | None]:
    """Ask through /api/ask/stream: the status code, the final answer and when the first token came."""
    with http.stream("POST", "/api/ask/stream", json={"question": question}) as r:
        event, answer, first = "", {}, None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "token" and first is None:
                    first = time.perf_counter() - t0
                elif event == "answer":
                    answer = json.loads(line[6:])
        return r.status_code, answer, first


def how_written(answer: dict) -> str:
    if answer.get("abstained"):
        return "refused"
    if answer.get("backend") != "extractive":
        return "by the model"
    notice = answer.get("notice", "")
    return "quoted: model busy" if "busy" in notice else "quoted: checks failed" if notice else "quoted"


def hammer(
    base: str, clients: int, seconds: float, headers: dict[str, str] | None = None, stream: bool = False
) -> Load:
    """``clients`` threads asking in a loop until ``seconds`` have passed (each finishes its request)."""
    load, lock = Load(), threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=300, headers=headers) as http:
            for q in itertools.islice(itertools.cycle(QUESTIONS), n, None):
                if time.monotonic() >= stop:
                    return
                t0 = time.perf_counter()
                first, answer = None, {}
                try:
                    if stream:
                        status, answer, first = streamed(http, q, t0)
                    else:
                        r = http.post("/api/ask", json={"question": q})
                        status, answer = r.status_code, r.json()
                    ok = status == 200 and "answer" in answer
                    outcome = str(status)
                except httpx.HTTPError as e:
                    ok, outcome = False, type(e).__name__
                with lock:
                    load.latencies.append(time.perf_counter() - t0)
                    if first is not None:
                        load.first_tokens.append(first)
                    if ok:
                        load.written[how_written(answer)] += 1
                    load.statuses[outcome] += 1
                    if not ok:
                        load.errors.append(f"{q!r}: {outcome}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return load


def news(n: int) -> list[dict]:
    """The first ``n`` SaudiNewsNet articles as API records."""
    records = []
    with gzip.open(SHARED / "data" / "news" / "saudinewsnet-2015.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in itertools.islice(f, n):
            records.append(json.loads(line))
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--articles", type=int, default=100, help="news articles ingested during the load")
    ap.add_argument("--data-dir", type=Path, default=None, help="needs the converted model (default: temp)")
    ap.add_argument("--output", type=Path, default=REPORT)
    ap.add_argument("--llm", default="extractive", choices=["extractive", "local"], help="answer back end")
    ap.add_argument("--section", default="", help="report section (default: load, or load-local)")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.clients, args.seconds, args.articles = 4, 5, 3
        args.output = Path(tempfile.mkdtemp()) / "reliability.md"
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="sanad-load-"))
    port = free_port()
    env = {
        **os.environ,
        "SANAD_DATA_DIR": str(data_dir),
        "SANAD_LLM": args.llm,
        "SANAD_PORT": str(port),
        "SANAD_ADMIN_TOKEN": "load-admin",
        "SANAD_ASKS_PER_MINUTE": "0",
        "SANAD_COLLECTION": f"load-{port}",  # a fresh index each run: the ingestion has work to do
        "HF_HUB_OFFLINE": "1",
    }
    if args.smoke:  # the seed article alone as the starting index
        demo = Path(tempfile.mkdtemp()) / "demo"
        demo.mkdir()
        (demo / "seed.md").write_bytes((ROOT / "examples" / "articles" / "baghouz-ar.md").read_bytes())
        env["SANAD_DEMO_ARTICLES"] = str(demo)
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        records = news(args.articles)
        ingest_result: dict = {}

        def feed() -> None:
            t0 = time.perf_counter()
            r = httpx.post(
                f"{base}/api/articles",
                json={"articles": records, "source": "saudinewsnet"},
                headers={"Authorization": "Bearer load-admin"},
                timeout=3600,
            )
            ingest_result.update(status=r.status_code, seconds=time.perf_counter() - t0, body=r.json())

        feeder = threading.Thread(target=feed)
        if records:
            feeder.start()
        load = hammer(base, args.clients, args.seconds, stream=args.llm != "extractive")
        if records:
            feeder.join()
        ready = httpx.get(f"{base}/readyz", timeout=60).json()
    finally:
        server.terminate()
        server.wait(timeout=60)
    lat = np.array(load.latencies) * 1000
    body = ingest_result.get("body", {})
    row = [
        args.clients,
        f"{args.seconds:.0f}",
        len(lat),
        len(load.errors),
        f"{np.percentile(lat, 50):.0f}",
        f"{np.percentile(lat, 95):.0f}",
        f"{lat.max():.0f}",
        f"{body.get('added', 0)} articles, {body.get('passages_written', 0)} passages in "
        f"{ingest_result.get('seconds', 0):.0f} s (HTTP {ingest_result.get('status')})"
        if records
        else "nothing",
        "yes" if ready.get("lexical_in_sync") else "NO",
    ]
    headers = HEADERS
    if load.first_tokens:
        first = np.array(load.first_tokens) * 1000
        headers = [*HEADERS, "first token p50 / p95 ms", "written"]
        row += [f"{np.percentile(first, 50):.0f} / {np.percentile(first, 95):.0f}", how(load.written)]
    result = table(headers, [row])
    print(result)
    if load.errors:
        print("errors:", load.errors[:10])
    local = args.llm != "extractive"
    update_section(
        args.output,
        args.section or ("load-local" if local else "load"),
        (
            "## Concurrent chat users with the local model\n\n"
            if local
            else "## Concurrent questions during an ingestion\n\n"
        )
        + f"`python app.py` ({args.llm} answers) on 127.0.0.1 over the demo index; {args.clients} client threads ask "
        f"in a loop for {args.seconds:.0f} s"
        + (f" while {args.articles} SaudiNewsNet articles are POSTed to `/api/articles`" if records else "")
        + (" through `/api/ask/stream`, as the chat does" if local else "")
        + f". Measured {machine()}.\n\n{result}\n\n"
        f"Reproduce: `.venv/bin/python bench/load.py --llm {args.llm} --clients {args.clients} "
        f"--seconds {args.seconds:.0f} --articles {args.articles}`",
    )
    if load.errors or not ready.get("lexical_in_sync"):
        sys.exit(1)


def how(written: Counter) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in written.most_common())


HEADERS = [
    "clients",
    "seconds",
    "answers",
    "errors",
    "p50 ms",
    "p95 ms",
    "max ms",
    "ingested meanwhile",
    "dense and lexical in sync after",
]


if __name__ == "__main__":
    main()
