"""Thresholds that depend on the embedding model, stored with the model's fingerprint.

Abstention compares the best passage's cosine similarity with ``min_similarity``; citation
checking compares answer sentences with their passages' sentences against ``support``. Both
were fitted for one model (``bench/calibrate.py``, XQuAD, confirmed on ARCD) and mean nothing
for another: ``qa/calibration.json`` keeps them by fingerprint (the model's vector of a probe
sentence), and a model with no entry gets the default ones with a warning.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from index.embeddings import Encoder, fingerprint_similarity

logger = logging.getLogger(__name__)
_SAME_MODEL = 0.98  # fingerprint similarity of one model on any backend (torch, bf16, int8)


@dataclass(frozen=True)
class Calibration:
    """Similarity thresholds for one embedding model, by question (or answer) script."""

    min_similarity_arabic: float = 0.83
    min_similarity_other: float = 0.77
    support_arabic: float = 0.87
    support_other: float = 0.84
    fitted: str = ""  # how and where; "" when these are defaults for an uncalibrated model

    def min_similarity(self, arabic: bool) -> float:
        """Below this best-passage similarity the articles are taken not to answer."""
        return self.min_similarity_arabic if arabic else self.min_similarity_other

    def support(self, arabic: bool) -> float:
        """Claim-to-sentence similarity that counts as support."""
        return self.support_arabic if arabic else self.support_other


def load_entries() -> list[dict[str, Any]]:
    """The stored calibrations."""
    return list(json.loads(files("qa").joinpath("calibration.json").read_text(encoding="utf-8")))


def calibration_for(encoder: Encoder) -> Calibration:
    """The calibration stored for ``encoder``'s model, or the defaults with a warning."""
    fingerprint = encoder.fingerprint()
    for entry in load_entries():
        if fingerprint_similarity(entry["fingerprint"], fingerprint) >= _SAME_MODEL:
            return Calibration(**entry["thresholds"], fitted=entry["fitted"])
    logger.warning(
        "No calibration for the embedding model %r: answers are refused or accepted with thresholds fitted "
        "for multilingual-e5-small, which may refuse too much or too little. Fit them with bench/calibrate.py.",
        encoder.name,
    )
    return Calibration()
