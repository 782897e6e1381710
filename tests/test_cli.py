"""The real ``sanad`` command in a subprocess, on the embedded store and on a ``chroma run`` server."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests import servers
from tests.conftest import SEED
from tests.processes import wait_ready

pytestmark = pytest.mark.slow


def _run(exe, *args, env):
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=600)


def _env(data_dir, **extra):
    return {**os.environ, "SANAD_DATA_DIR": str(data_dir), **extra}


def test_ingest_reports_and_exits_nonzero_on_rejections_then_is_idempotent(sanad_exe, data_dir, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / "seed.md")
    (docs / "notes.txt").write_bytes("عنوان\nخبر قصير عن افتتاح معرض الكتاب في الرياض.".encode("cp1256"))
    (docs / "blob.html").write_bytes(b"\x00\xff\x00binary")
    env = _env(data_dir)

    first = _run(sanad_exe, "ingest", str(docs), "--source", "Test feed", env=env)
    assert first.returncode == 1, first.stderr
    assert "rejected: " in first.stderr and "blob.html" in first.stderr and "binary" in first.stderr
    assert "2 added, 0 updated, 0 unchanged, 0 duplicates, 1 rejected" in first.stdout
    assert "passages/s" in first.stdout

    (docs / "blob.html").unlink()
    again = _run(sanad_exe, "ingest", str(docs), "--quiet", "--source", "Test feed", env=env)
    assert again.returncode == 0, again.stderr
    assert "0 added, 0 updated, 2 unchanged" in again.stdout and "0 written" in again.stdout

    stats = _run(sanad_exe, "stats", env=env)
    assert stats.returncode == 0, stats.stderr
    assert "articles:        2" in stats.stdout and "languages:       ar 2" in stats.stdout
    assert "multilingual-e5-small" in stats.stdout and str(data_dir.resolve()) in stats.stdout


def test_invalid_settings_and_missing_paths_are_clear_errors(sanad_exe, data_dir):
    bad = _run(sanad_exe, "stats", env=_env(data_dir, SANAD_CHUNK_WORDS="5"))
    assert bad.returncode != 0 and "Invalid settings" in bad.stderr and "chunk_words" in bad.stderr
    missing = _run(sanad_exe, "ingest", "/nonexistent/dir", "--quiet", env=_env(data_dir))
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr


@pytest.fixture
def chroma_server(tmp_path):
    """A real ``chroma run`` server on 127.0.0.1, stopped after the test."""
    with servers.chroma_server(tmp_path / "server") as port:
        yield port


def test_ingest_and_stats_against_a_chroma_server(sanad_exe, data_dir, chroma_server, tmp_path):
    env = _env(data_dir, SANAD_CHROMA_HOST="127.0.0.1", SANAD_CHROMA_PORT=str(chroma_server))
    result = _run(sanad_exe, "ingest", str(SEED), "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout
    stats = _run(sanad_exe, "stats", env=env)
    assert f"Chroma server 127.0.0.1:{chroma_server}" in stats.stdout and "articles:        1" in stats.stdout
    assert not (data_dir / "chroma").exists()  # nothing went to the embedded store
    asked = _run(sanad_exe, "ask", "--json", "من يسيطر على الباغوز؟", env={**env, "SANAD_LLM": "extractive"})
    assert asked.returncode == 0 and json.loads(asked.stdout)["citations"], asked.stderr


def test_an_unreachable_chroma_server_is_a_clear_error(sanad_exe, data_dir):
    env = _env(data_dir, SANAD_CHROMA_HOST="127.0.0.1", SANAD_CHROMA_PORT=str(servers.free_port()))
    result = _run(sanad_exe, "stats", env=env)
    assert result.returncode == 1
    assert "Cannot reach the Chroma server" in result.stderr and "Traceback" not in result.stderr


def test_ask_answers_with_numbered_sources_and_json(sanad_exe, data_dir):
    env = _env(data_dir, SANAD_LLM="extractive")
    empty = _run(sanad_exe, "ask", "Who controls Baghouz?", env=env)
    assert empty.returncode == 1 and "No articles are indexed yet" in empty.stderr
    assert _run(sanad_exe, "ingest", str(SEED), "--quiet", env=env).returncode == 0
    text = _run(sanad_exe, "ask", "Who controls Baghouz?", env=env)
    assert text.returncode == 0, text.stderr
    assert "[1]" in text.stdout and "الباغوز" in text.stdout and "(extractive," in text.stdout
    as_json = _run(sanad_exe, "ask", "من يسيطر على الباغوز؟", "--json", "--k", "3", env=env)
    data = json.loads(as_json.stdout)
    assert data["language"] == "ar" and data["citations"][0]["n"] == 1 and not data["abstained"]
    bad = _run(sanad_exe, "ask", "   ", env=env)
    assert bad.returncode == 1 and "empty" in bad.stderr and "Traceback" not in bad.stderr


def test_eval_prints_metrics_by_language_as_json(sanad_exe, data_dir, tmp_path):
    articles = tmp_path / "articles.jsonl"
    questions = tmp_path / "questions.jsonl"
    xquad = Path(__file__).resolve().parent.parent / "examples" / "articles" / "xquad-ar.jsonl"
    first = xquad.read_text(encoding="utf-8").splitlines()[0]
    articles.write_text(first + "\n", encoding="utf-8")
    article = json.loads(first)
    gold = [0, len(article["text"])]
    answer = "308"
    span = article["text"].index(answer)
    rows = [
        {
            "id": "q1",
            "question": "كم نقطة تخلى عنها دفاع البانثرز؟",
            "lang": "ar",
            "answers": [answer],
            "article_id": article["id"],
            "answer_spans": [[span, span + 3]],
            "gold_paragraph_span": gold,
        },
        {
            "id": "q2",
            "question": "How many points did the Panthers defense surrender?",
            "lang": "en",
            "answers": [answer],
            "article_id": article["id"],
            "answer_spans": [[span, span + 3]],
            "gold_paragraph_span": gold,
        },
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = _run(
        sanad_exe, "eval", "--articles", str(articles), "--questions", str(questions), "--json", env=_env(data_dir)
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["by_lang"]) == {"ar", "en"}
    keys = {"n", "hit@1", "hit@5", "mrr", "bar@2000", "answered", "answer_exact", "answer_f1", "answer_or_cited"}
    assert set(data["overall"]) == keys | {"citation_correct"} and data["overall"]["n"] == 2
    assert data["overall"]["hit@5"] == 1.0  # a single article: every question finds it
    text = _run(sanad_exe, "eval", "--articles", str(articles), "--questions", str(questions), env=_env(data_dir))
    assert "answer_exact" in text.stdout and "refused_absent" not in text.stdout  # nothing was held out


def test_serve_starts_the_web_app(sanad_exe, data_dir, tmp_path):
    demo = tmp_path / "demo"
    demo.mkdir()
    shutil.copy(SEED, demo / "seed.md")
    port = servers.free_port()
    env = {**os.environ, "SANAD_LLM": "extractive", "SANAD_DEMO_ARTICLES": str(demo)}
    server = subprocess.Popen([sanad_exe, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}", server, timeout=240)
        answer = httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": "من يسيطر على الباغوز؟"}, timeout=60)
        assert answer.json()["citations"] and "Sanad" in httpx.get(f"http://127.0.0.1:{port}/", timeout=30).text
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_server_that_cannot_start_says_why_and_leaves_no_folder_behind(sanad_exe, data_dir, tmp_path):
    """`sanad serve` against an unreachable Chroma: a clear error, and its private Gradio folder removed."""
    (tmp_path / "tmp").mkdir()
    env = _env(data_dir, SANAD_CHROMA_HOST="127.0.0.1", SANAD_CHROMA_PORT=str(servers.free_port()))
    env.pop("GRADIO_TEMP_DIR", None)
    env["TMPDIR"] = str(tmp_path / "tmp")
    result = _run(sanad_exe, "serve", "--port", str(servers.free_port()), env=env)
    assert result.returncode != 0 and "Cannot reach the Chroma server" in result.stderr, result.stderr[-2000:]
    assert not list((tmp_path / "tmp").glob("sanad-gradio-*"))
