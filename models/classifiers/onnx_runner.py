"""Runs an exported text network (token ids -> logits) with ONNX Runtime, without torch.

A fine-tuned classifier is served from its ONNX export (see `onnx_export`): ONNX Runtime runs the
same graph two to four times faster than eager torch on CPU, and int8 quantisation (weights stored
as int8, activations quantised per row: `onnx_quantize`) halves that again where it costs little
accuracy.
Loading needs only onnxruntime and the tokenizer, so a service that serves no torch-trained model
never imports torch.

Threads: a service runs one worker per core, so each worker's runtime should use one thread;
`set_inference_threads` is the process-wide setting (0 = ONNX Runtime's default, all cores);
a runner follows it, making its session again when it has changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

__all__ = ["TEXTS_PER_CALL", "OnnxLogits", "inference_threads", "set_inference_threads"]

# Texts per call of a graph whose answers do not depend on the batch, after sorting a request's
# texts by length (requests of 64 tweets, fp32: 349 texts/s in calls of 8, 325 of 16, 276 of 32,
# from less padding per call; 2,000 texts sorted together: 408, 422, 422, and 377 in calls of 128;
# the per-row int8 graph, requests of 64: 312, 316, 292, 238 and 165 in calls of 4 to 64).
TEXTS_PER_CALL: Final = 8

_THREADS = {"intra_op": 0}


def set_inference_threads(threads: int) -> None:
    """Threads each ONNX Runtime session created from now on may use (0 = all cores)."""
    if threads < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    _THREADS["intra_op"] = threads


def inference_threads() -> int:
    return _THREADS["intra_op"]


class OnnxLogits:
    """Logits of token-id batches from an ONNX graph with inputs input_ids and attention_mask."""

    def __init__(self, path: str | Path, batch_size: int = 64) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self._threads = inference_threads()
        self._session = self._new_session()

    def _new_session(self) -> Any:
        import onnxruntime as ort  # imported on use: TF-IDF-only services never load it

        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def __call__(self, token_ids: Sequence[Sequence[int]], pad_id: int) -> np.ndarray:
        """Logits, one row per sequence; sequences of similar length are batched together."""
        if not token_ids:
            raise ValueError("no sequences to score")
        if self._threads != inference_threads():
            # A session's threads are fixed when it is made: follow a changed setting (e.g. a
            # one-core speed measurement of a model trained with all cores).
            self._threads = inference_threads()
            self._session = self._new_session()
        # Sorting by length keeps padding (wasted compute) small within each batch.
        order = sorted(range(len(token_ids)), key=lambda i: len(token_ids[i]))
        rows: list[np.ndarray] = []
        for start in range(0, len(order), self.batch_size):
            batch = [token_ids[i] for i in order[start : start + self.batch_size]]
            longest = max(len(ids) for ids in batch)
            ids = np.full((len(batch), longest), pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), longest), dtype=np.int64)
            for row, sequence in enumerate(batch):
                ids[row, : len(sequence)] = sequence
                mask[row, : len(sequence)] = 1
            rows.append(self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        sorted_logits = np.concatenate(rows).astype(np.float64)
        logits = np.empty_like(sorted_logits)
        logits[order] = sorted_logits
        return logits
