"""The bad-input matrix: every case against a running app, each a clear answer and nothing lost.

The cases live in tests/bad_inputs.py (tests/test_bad_input.py runs them in `make test`); this
script runs them against `python app.py` and writes the table to docs/reliability.md.

    python bench/bad_input.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import ROOT, machine, table, update_section  # noqa: E402
from tests.bad_inputs import ADMIN, CASES, run  # noqa: E402
from tests.processes import free_port, wait_ready  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", type=Path, default=ROOT / "docs" / "reliability.md")
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()

    port = free_port()
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="sanad-bad-"))
    env = {**os.environ, "SANAD_DATA_DIR": str(data), "SANAD_LLM": "extractive", "SANAD_PORT": str(port)}
    env |= {"SANAD_ADMIN_TOKEN": ADMIN, "SANAD_ASKS_PER_MINUTE": "0", "SANAD_COLLECTION": f"bad-{port}"}

    server = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}", server)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as http:
            results = run(http)
    finally:
        server.terminate()
        server.wait(timeout=60)
    rows = [
        [
            i,
            r["case"],
            f"{r['status']}" + ("" if r["status"] == r["expected"] else f" (expected {r['expected']})"),
            r["message"].replace("|", "\\|").replace("\n", " ")[:140],
            "yes" if r["kept"] else "NO",
            "yes" if r["still_answers"] else "NO",
        ]
        for i, r in enumerate(results, 1)
    ]
    result = table(["#", "input", "HTTP", "what the sender is told", "index kept", "still answers"], rows)
    print(result)
    update_section(
        args.output,
        "bad-input",
        f"## Bad input matrix\n\n{len(CASES)} cases sent to a running `python app.py`, measured {machine()}. "
        "After every case the index still holds everything it held before and the seed question is still "
        "answered with citations. Uploads that are partly bad keep the good part (HTTP 200 with the "
        "rejections listed); wholly bad ones are 422.\n\n"
        f"{result}\n\nReproduce: `.venv/bin/python bench/bad_input.py`; the same cases run in "
        "`tests/test_bad_input.py`.",
    )
    if not all(r["ok"] and r["kept"] and r["still_answers"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
