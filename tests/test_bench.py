"""Each benchmark script's smoke mode runs, so the scripts cannot rot (numbers are not checked)."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.mark.skipif(not (SHARED_DATA / "xquad").is_dir(), reason="needs ../shared/data beside the checkout")
@pytest.mark.parametrize(
    "script",
    [
        "ingest_throughput.py",
        "retrieval_quality.py",
        "calibrate.py",
        "answerability.py",
        "answer_quality.py",
        "latency.py",
        "load.py",
        "embedding_backends.py",
        "scale.py",
        "llm_path.py",
    ],
)
def test_bench_script_smoke(script, data_dir):
    report = ROOT / "docs" / "benchmarks.md"
    before = report.read_bytes() if report.exists() else b""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--smoke", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "|---" in result.stdout  # printed a table
    assert (report.read_bytes() if report.exists() else b"") == before  # smoke runs leave the report alone


def test_news_time_bench_smoke(data_dir):
    """The news-time bench runs on two topics of its own data set (no ../shared) and prints every group."""
    report = ROOT / "docs" / "benchmarks.md"
    before = report.read_bytes() if report.exists() else b""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "news_time.py"), "--smoke", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| first_cited (before → after) |" in result.stdout
    rows = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| 0 |")]
    assert {(r[2].strip(), r[3].strip()) for r in rows} == {
        ("ar", "dated"),
        ("ar", "present"),
        ("en", "dated"),
        ("en", "present"),
    }
    assert all(" → " in r[5] for r in rows)  # before and after, side by side
    assert (report.read_bytes() if report.exists() else b"") == before  # smoke runs leave the report alone
