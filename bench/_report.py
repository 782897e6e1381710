"""Shared helpers for bench scripts: print a Markdown table and update one section of a report."""

from __future__ import annotations

import platform
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
NEWS = SHARED / "data" / "news" / "saudinewsnet-2015.jsonl.gz"  # distractors (internal use only)
XQUAD = SHARED / "data" / "xquad"
DEFAULT_REPORT = ROOT / "docs" / "benchmarks.md"


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """One line describing where and when the numbers were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout
    except OSError:
        commit = ""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    import os

    return f"{now}, commit {commit.strip() or '?'}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def command() -> str:
    """This script's command line, as a reader would type it (without --data-dir / --output)."""
    import shlex
    import sys

    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg in ("--data-dir", "--output"):
            skip = True
        elif not arg.startswith(("--data-dir=", "--output=")):
            args.append(arg)
    return shlex.join([".venv/bin/python", f"bench/{Path(sys.argv[0]).name}", *args])


def update_section(report: Path, key: str, body: str) -> None:
    """Replace (or append) the section between ``<!-- bench:key -->`` markers in ``report``."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = report.read_text(encoding="utf-8") if report.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text, encoding="utf-8")
