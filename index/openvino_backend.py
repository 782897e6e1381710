"""Run a sentence-transformers model with OpenVINO: about 4× the passages per second of torch here.

The model's transformer is exported once (with torch) into an OpenVINO IR under the models
folder, beside everything needed to run it without torch: the tokenizer (``tokenizer.json``,
run by the ``tokenizers`` library), the prompts, the pooling and a reference vector that torch
computed for a probe sentence. Loading an export imports neither torch nor
sentence-transformers, which saves several seconds on every start. Two precisions:

- ``bf16``: the fp32 IR executed in bfloat16 where the CPU has it (AVX512-BF16 / AMX), else fp32.
  Vectors match torch to cosine 0.99999.
- ``int8``: the IR statically quantized by NNCF, calibrated on the shipped calibration sentences
  (``calibration.txt``, never on evaluation data). Cosine ≈ 0.996 to torch; faster still.

Only the plain stack ``Transformer → Pooling(mean | cls) → [Normalize]`` is supported; anything
else raises :class:`UnsupportedModel` and the caller keeps torch.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexingError

logger = logging.getLogger(__name__)

CALIBRATION_FILE = Path(__file__).with_name("calibration.txt")
EXPORT_FILE = "export.json"
_EXPORT_VERSION = 2  # 2: tokenizer, prompts, pooling and the torch reference vector saved with the IR
_LENGTH_STEP = 32


class UnsupportedModel(IndexingError):
    """The model cannot be run by this backend (module stack, pooling, a broken export, or OpenVINO missing)."""


def cpu_has_bf16() -> bool:
    """Whether OpenVINO can run bfloat16 natively on this CPU."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def is_exported(folder: Path) -> bool:
    """Whether ``folder`` holds a complete export of the current version."""
    meta = _manifest(folder)
    return meta is not None and (folder / "model-int8.xml").exists() and (folder / "tokenizer.json").exists()


def export(st_model: Any, folder: Path, prompts: dict[str, str], reference: list[float], probe: str) -> None:
    """Export ``st_model`` into ``folder``: IRs (fp32 and NNCF static int8), tokenizer and manifest.

    ``reference`` is torch's vector of ``probe`` (with the passage prompt), kept to check the
    export each time it is loaded. Written into a temp folder beside it and renamed, so an
    interrupted export leaves nothing.
    """
    import nncf
    import openvino as ov
    import torch

    pooling = _pooling(st_model)
    tokenizer = st_model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise UnsupportedModel("the tokenizer has no tokenizer.json (not a fast tokenizer)")
    example = tokenizer(["passage: a", "query: b c"], padding=True, return_tensors="pt")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        with torch.no_grad():
            model = ov.convert_model(st_model[0].auto_model.eval(), example_input=dict(example))
        ov.save_model(model, work / "model.xml", compress_to_fp16=False)
        max_length = int(st_model.max_seq_length or 512)
        items = [
            dict(tokenizer([t], truncation=True, max_length=max_length, return_tensors="np"))
            for t in calibration_texts(prompts)
        ]
        quantized = nncf.quantize(
            model, nncf.Dataset(items), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(items)
        )
        ov.save_model(quantized, work / "model-int8.xml")
        tokenizer.backend_tokenizer.save(str(work / "tokenizer.json"))
        manifest = {
            "version": _EXPORT_VERSION,
            "openvino": ov.get_version(),
            "calibration_items": len(items),
            "pooling": pooling,
            "prompts": prompts,
            "max_length": max_length,
            "dimension": int(st_model.get_embedding_dimension() or 0),
            "pad_id": int(tokenizer.pad_token_id or 0),
            "pad_token": str(tokenizer.pad_token or ""),
            "probe": probe,
            "reference": reference,
        }
        (work / EXPORT_FILE).write_text(json.dumps(manifest), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        try:
            work.rename(folder)
        except OSError:
            if not is_exported(folder):  # else another process finished the same export first: use it
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def calibration_texts(prompts: dict[str, str]) -> list[str]:
    """The shipped calibration sentences, each as a query and as a passage (with the model's prompts)."""
    lines = [x.strip() for x in CALIBRATION_FILE.read_text(encoding="utf-8").splitlines()]
    lines = [x for x in lines if x and not x.startswith("#")]
    passages = [" ".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]  # passage-sized pieces
    return [prompts.get("query", "") + x for x in lines] + [prompts.get("passage", "") + x for x in passages]


class OpenVinoEncoder:
    """Encode texts with the export in ``folder`` (torch is not needed)."""

    def __init__(self, folder: Path, precision: str):
        """Compile the export; raises :class:`UnsupportedModel` when it is missing or disagrees with torch."""
        try:
            import openvino as ov
            from tokenizers import Tokenizer
        except ImportError as e:
            raise UnsupportedModel("the openvino package is not installed") from e
        if precision not in ("bf16", "int8"):
            raise ValueError(f"precision must be bf16 or int8, not {precision!r}")
        meta = _manifest(folder)
        if meta is None or not is_exported(folder):
            raise UnsupportedModel(f"no export in {folder}")
        self.prompts: dict[str, str] = dict(meta["prompts"])
        self.dimension = int(meta["dimension"])
        self._pooling = str(meta["pooling"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(meta["max_length"]))
        # few distinct shapes: each new one costs the int8 model ~25 ms of compilation
        self._tokenizer.enable_padding(
            pad_id=int(meta["pad_id"]), pad_token=str(meta["pad_token"]), pad_to_multiple_of=_LENGTH_STEP
        )
        # int8 runs fastest with fp32 for its remaining ops; the fp32 IR with bf16 where the CPU has it
        hint = "bf16" if precision == "bf16" and cpu_has_bf16() else "f32"
        xml = folder / ("model-int8.xml" if precision == "int8" else "model.xml")
        self.precision = precision if precision == "int8" else hint
        self._compiled = ov.Core().compile_model(
            str(xml), "CPU", {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
        )
        self._inputs = {p.get_any_name() for p in self._compiled.inputs}
        probe = self.encode([self.prompts.get("passage", "") + str(meta["probe"])], 1)[0]
        reference = np.asarray(meta["reference"], np.float32)
        agreement = float(probe @ reference / (np.linalg.norm(reference) + 1e-9))
        if agreement < 0.98:
            raise UnsupportedModel(f"the export in {folder} disagrees with torch (cosine {agreement:.3f})")
        for words in (1, 40):  # compile the shapes most questions have now, not on the first question
            self.encode([" ".join(["warm"] * words)], 1)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-length vectors of ``texts`` (prompts already prepended), in the given order."""
        out = []
        for start in range(0, len(texts), batch_size):
            encodings = self._tokenizer.encode_batch(texts[start : start + batch_size])
            ids = np.array([e.ids for e in encodings], np.int64)
            mask = np.array([e.attention_mask for e in encodings], np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.array([e.type_ids for e in encodings], np.int64)
            feed = {k: v for k, v in feed.items() if k in self._inputs}
            hidden = self._compiled(feed)[0]
            if self._pooling == "cls":
                vectors = hidden[:, 0]
            else:
                weights = mask[..., None].astype(np.float32)
                vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out.append(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))
        return np.concatenate(out).astype(np.float32)


def _manifest(folder: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("version") == _EXPORT_VERSION else None


def _pooling(st_model: Any) -> str:
    names = [type(m).__name__ for m in st_model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise UnsupportedModel(f"module stack {names} (expected Transformer, Pooling[, Normalize])")
    config = st_model[1].get_config_dict()
    mode = config.get("pooling_mode") or (
        "mean" if config.get("pooling_mode_mean_tokens") else "cls" if config.get("pooling_mode_cls_token") else "?"
    )
    if mode not in ("mean", "cls") or config.get("include_prompt") is False:
        raise UnsupportedModel(f"pooling {config}")
    if getattr(st_model[0], "do_lower_case", False):
        raise UnsupportedModel("lower-casing tokenizer wrapper")
    return str(mode)
