"""Which runtime serves a fine-tuned network: its ONNX export, int8 when that costs little.

After training, the network is exported to ONNX (fp32) and quantised to int8 (`onnx_quantize`:
activations scaled per row, so a text's answer does not depend on the batch it is run in).
Both are scored on the validation split the training carved out; the int8 graph is served unless
it costs more than `int8_max_accuracy_loss` of accuracy against the eager network beyond the
measurement's noise, else the fp32 graph. The noise is the standard error of the paired
difference, at most sqrt(changed answers) / n: quantisation changes a few borderline answers
(16 of 1,154 on airline sentiment), and on a validation split that size one changed answer is
0.09 point, so a plain threshold would be decided by a handful of tweets. The decision and the
figures behind it go into the model's manifest, so a reader sees why.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from models.classifiers.onnx_export import export_network
from models.classifiers.onnx_quantize import ACTIVATIONS, quantize_int8
from models.classifiers.onnx_runner import TEXTS_PER_CALL, OnnxLogits

logger = logging.getLogger(__name__)

ONNX_FILE = "network.onnx"

# int8 graphs quantised before activations were scaled per row (`onnx_quantize`) run one text per
# call: their activations were scaled by the range of the whole call, so in a batch a text's
# answer depended on its neighbours (6 of 400 airline tweets changed label between alone and in a
# batch of 64). Every other graph runs `TEXTS_PER_CALL` (see `onnx_runner`).
PER_CALL_INT8_TEXTS_PER_CALL = 1


def texts_per_call(runtime: Mapping[str, Any]) -> int:
    """Texts per call for a runtime manifest entry (`OnnxRuntimeChoice.manifest`)."""
    per_call_int8 = runtime.get("precision") == "int8" and runtime.get("activations") != ACTIVATIONS
    return PER_CALL_INT8_TEXTS_PER_CALL if per_call_int8 else TEXTS_PER_CALL


@dataclass
class OnnxRuntimeChoice:
    """The ONNX graph chosen to serve, where it sits until saved, and why it was chosen."""

    runner: OnnxLogits
    precision: str  # "int8" or "fp32"
    validation_accuracy: dict[str, float]
    int8_noise: dict[str, float] | None = None  # changed answers and the paired standard error
    _scratch: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def manifest(self) -> dict[str, Any]:
        noise = None
        if self.int8_noise is not None:
            noise = {k: round(float(v), 5) for k, v in self.int8_noise.items()}
        return {
            "engine": "onnx",
            "file": ONNX_FILE,
            "precision": self.precision,
            "activations": ACTIVATIONS if self.precision == "int8" else None,
            "validation_accuracy": {k: round(v, 4) for k, v in self.validation_accuracy.items()},
            "int8_noise": noise,
        }

    def save(self, folder: Path) -> None:
        shutil.copyfile(self.runner.path, folder / ONNX_FILE)


def choose_onnx_runtime(
    network: nn.Module,
    valid_ids: list[list[int]],
    valid_labels: np.ndarray,
    eager_logits: np.ndarray,
    pad_id: int,
    max_int8_loss: float | None,
) -> OnnxRuntimeChoice:
    """Export `network`, score fp32/int8 on validation, and return the graph to serve."""
    scratch = tempfile.TemporaryDirectory(prefix="agora-onnx-")
    folder = Path(scratch.name)
    fp32 = export_network(network, folder / "network.fp32.onnx")
    accuracy = {"eager": _accuracy(eager_logits, valid_labels)}
    chosen = OnnxLogits(fp32, TEXTS_PER_CALL)
    accuracy["fp32"] = _accuracy(chosen(valid_ids, pad_id), valid_labels)
    precision, noise = "fp32", None
    if max_int8_loss is not None:
        int8 = OnnxLogits(quantize_int8(fp32, folder / "network.int8.onnx"), TEXTS_PER_CALL)
        int8_logits = int8(valid_ids, pad_id)
        accuracy["int8"] = _accuracy(int8_logits, valid_labels)
        changed = int(np.sum(int8_logits.argmax(axis=1) != np.asarray(eager_logits).argmax(axis=1)))
        noise = {
            "changed_answers": changed,
            "standard_error": float(np.sqrt(changed) / len(valid_labels)),
        }
        if accuracy["eager"] - accuracy["int8"] - noise["standard_error"] <= max_int8_loss:
            chosen, precision = int8, "int8"
    logger.info(
        "serving the %s ONNX graph; validation accuracy %s; int8 may lose %s beyond noise %s",
        precision,
        ", ".join(f"{name} {value:.4f}" for name, value in accuracy.items()),
        max_int8_loss,
        noise,
    )
    return OnnxRuntimeChoice(chosen, precision, accuracy, noise, scratch)


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(logits).argmax(axis=1) == labels))
