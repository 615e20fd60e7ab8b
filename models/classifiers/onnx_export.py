"""Exports a fine-tuned text network to ONNX (quantised to int8 by `onnx_quantize`).

torch's exporter writes the graph (token ids and mask -> logits, batch and length dynamic).
Whether an int8 version is served is decided by its accuracy on held-out data
(`finetune_runtime`), not here.

Measured on a fine-tuned MiniLM-L6 (airline sentiment; 1,154 validation and 2,886 test tweets;
one thread): the fp32 export runs 169 texts/s at the eager network's accuracy (0.8544 validation,
0.8389 test). ONNX Runtime's own dynamic quantisation (activations scaled per call), as answers
changed against fp32 (validation / test) and accuracy: the library's default (embedding lookup
quantised too) 417 texts/s, test 0.8351; matrix multiplications only, 420 texts/s, 31 / 75
answers changed, 0.8440 / 0.8365; per channel, 422, 15 / 34, 0.8475 / 0.8371; per channel with
7-bit weights, 422, 16 / 37, 0.8492 / 0.8385; uint8 weights, 226. Its answers depended on the
batch, which `onnx_quantize` removes. ONNX Runtime's transformer optimizer (fused attention and
layer norm) was slower here (153 texts/s fp32), so the graph is quantised as exported.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torch import nn

logger = logging.getLogger(__name__)

_OPSET = 17


def export_network(network: nn.Module, out: Path) -> Path:
    """Write `network` (input_ids, attention_mask -> logits) as an fp32 ONNX graph."""
    # Any ids below the vocabulary size trace the same graph; one padded row traces the mask.
    example_ids = torch.tensor([[1, 2, 3, 2], [1, 3, 2, 0]], dtype=torch.long)
    example_mask = (example_ids != 0).long()
    was_training = network.training
    network.eval()
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter warns it is deprecated in favour of the dynamo one, which
            # needs onnxscript's rewriter at export time; it is kept for its plain, stable graph.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network,
                (example_ids, example_mask),
                str(out),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "logits": {0: "batch"},
                },
                opset_version=_OPSET,
                dynamo=False,
            )
    finally:
        network.train(was_training)
    return out
