"""Run a sentence-transformers model with OpenVINO: about 4× the passages per second of torch here.

The torch model stays the source of truth (tokenizer, prompts, pooling); only its transformer is
exported, once, into an OpenVINO IR under the models folder. Two precisions:

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

logger = logging.getLogger(__name__)

CALIBRATION_FILE = Path(__file__).with_name("calibration.txt")
_EXPORT_VERSION = 1
_LENGTH_STEP = 32


class UnsupportedModel(RuntimeError):
    """The model cannot be run by this backend (module stack, pooling, or OpenVINO missing)."""


def cpu_has_bf16() -> bool:
    """Whether OpenVINO can run bfloat16 natively on this CPU."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


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


def export(st_model: Any, folder: Path, calibration: list[str]) -> None:
    """Write ``model.xml`` (fp32) and ``model-int8.xml`` (NNCF static int8) into ``folder``.

    Written into a temp folder beside it and renamed, so an interrupted export leaves nothing.
    """
    import nncf
    import openvino as ov
    import torch

    tokenizer = st_model.tokenizer
    example = tokenizer(["passage: a", "query: b c"], padding=True, return_tensors="pt")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        with torch.no_grad():
            model = ov.convert_model(st_model[0].auto_model.eval(), example_input=dict(example))
        ov.save_model(model, work / "model.xml", compress_to_fp16=False)
        items = [
            dict(tokenizer([t], truncation=True, max_length=st_model.max_seq_length, return_tensors="np"))
            for t in calibration
        ]
        quantized = nncf.quantize(
            model, nncf.Dataset(items), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(items)
        )
        ov.save_model(quantized, work / "model-int8.xml")
        (work / "export.json").write_text(
            json.dumps({"version": _EXPORT_VERSION, "openvino": ov.get_version(), "calibration_items": len(items)}),
            encoding="utf-8",
        )
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        try:
            work.rename(folder)
        except OSError:
            if not _exported(folder):  # else another process finished the same export first: use it
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _exported(folder: Path) -> bool:
    try:
        meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("version") == _EXPORT_VERSION and (folder / "model-int8.xml").exists()


def calibration_texts(prompts: dict[str, str]) -> list[str]:
    """The shipped calibration sentences, each as a query and as a passage (with the model's prompts)."""
    lines = [x.strip() for x in CALIBRATION_FILE.read_text(encoding="utf-8").splitlines()]
    lines = [x for x in lines if x and not x.startswith("#")]
    passages = [" ".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]  # passage-sized pieces
    return [prompts.get("query", "") + x for x in lines] + [prompts.get("passage", "") + x for x in passages]


class OpenVinoEncoder:
    """Encode texts with the OpenVINO export of ``st_model`` (exported into ``folder`` if missing)."""

    def __init__(self, st_model: Any, folder: Path, precision: str, prompts: dict[str, str]):
        try:
            import openvino as ov
        except ImportError as e:
            raise UnsupportedModel("the openvino package is not installed") from e
        if precision not in ("bf16", "int8"):
            raise ValueError(f"precision must be bf16 or int8, not {precision!r}")
        self._pooling = _pooling(st_model)
        self._tokenizer = st_model.tokenizer
        self._max_length = int(st_model.max_seq_length or 512)
        if not _exported(folder):
            logger.info("Exporting the embedding model to OpenVINO in %s (once)", folder)
            export(st_model, folder, calibration_texts(prompts))
        # int8 runs fastest with fp32 for its remaining ops; the fp32 IR with bf16 where the CPU has it
        hint = "bf16" if precision == "bf16" and cpu_has_bf16() else "f32"
        xml = folder / ("model-int8.xml" if precision == "int8" else "model.xml")
        self.precision = precision if precision == "int8" else hint
        self._compiled = ov.Core().compile_model(
            str(xml), "CPU", {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
        )
        self._inputs = {p.get_any_name() for p in self._compiled.inputs}
        for words in (1, 40):  # compile the shapes most questions have now, not on the first question
            self.encode([" ".join(["warm"] * words)], 1)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-length vectors of ``texts`` (prompts already prepended), in the given order."""
        out = []
        for start in range(0, len(texts), batch_size):
            batch = self._tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=self._max_length,
                # few distinct shapes: each new one costs the int8 model ~25 ms of compilation
                pad_to_multiple_of=_LENGTH_STEP,
                return_tensors="np",
            )
            feed = {k: v for k, v in batch.items() if k in self._inputs}
            if "token_type_ids" in self._inputs and "token_type_ids" not in feed:
                feed["token_type_ids"] = np.zeros_like(batch["input_ids"])
            hidden = self._compiled(feed)[0]
            if self._pooling == "cls":
                vectors = hidden[:, 0]
            else:
                mask = batch["attention_mask"][..., None].astype(np.float32)
                vectors = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out.append(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))
        return np.concatenate(out).astype(np.float32)
