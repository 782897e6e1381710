"""Each benchmark script's smoke mode runs, so the scripts cannot rot (numbers are not checked)."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    """One passage-vector cache for every smoke run: the articles most scripts index are embedded once."""
    return tmp_path_factory.mktemp("bench-vectors")


@pytest.fixture
def data_dir(data_dir, vectors):
    """The CLI's data dir (converted model, OpenVINO export), its vector cache shared by the module's runs."""
    (data_dir / "cache").symlink_to(vectors, target_is_directory=True)
    return data_dir


def smoke(script, data_dir):
    """Run ``bench/<script> --smoke``; it must succeed and leave docs/benchmarks.md alone. Its standard output."""
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
    assert (report.read_bytes() if report.exists() else b"") == before  # smoke runs leave the report alone
    return result.stdout


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
        "answer_check.py",
        "support_check.py",
        "evidence_order.py",
        "mixed_index.py",
    ],
)
def test_bench_script_smoke(script, data_dir):
    assert "|---" in smoke(script, data_dir)  # printed a table


def test_news_time_bench_smoke(data_dir):
    """The news-time bench runs on two topics of its own data set (no ../shared) and prints every group."""
    out = smoke("news_time.py", data_dir)
    assert "| first_cited (before → after) |" in out
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| 0 |")]
    assert {(r[2].strip(), r[3].strip()) for r in rows} == {
        ("ar", "dated"),
        ("ar", "present"),
        ("en", "dated"),
        ("en", "present"),
    }
    assert all(" → " in r[5] for r in rows)  # before and after, side by side
