"""The knowledge base's sentence encoder, run by ONNX Runtime as an int8 graph.

`/triage` embeds one message per request, so the encoder's single-text latency is paid on every
call. all-MiniLM-L6-v2 (transformer, mean pooling, L2 normalisation) is exported once to ONNX with
the pooling and normalisation inside the graph, and its matrix multiplications quantised to int8
with one activation scale per token (`models.classifiers.onnx_quantize`, as the fine-tuned
classifiers are), so a text's vector is the same alone and in any batch. Serving it needs
only onnxruntime and the `tokenizers` library: a worker never imports torch for it. The export
(which needs torch and sentence-transformers) is made on first use, in a child interpreter
(`python -m models.knowledge.onnx_encoder NAME OUT`), and kept in a folder keyed by the encoder
name; later processes load it. It is the knowledge base's `minilm-int8`
encoder (see `encoders`: cases and queries must be embedded by the same one).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np

from features.embeddings import DEFAULT_ENCODER, TextEncoder
from models.artifacts import build_in_child, build_once, keyed_folder, run_build
from models.classifiers.onnx_runner import TEXTS_PER_CALL

logger = logging.getLogger(__name__)

MAX_TOKENS: Final = 256  # all-MiniLM-L6-v2's max_seq_length: it reads no further
GRAPH_FILE: Final = "encoder-int8.onnx"
TOKENIZER_FILE: Final = "tokenizer.json"
INFO_FILE: Final = "encoder.json"
# Bump when the export changes: an old folder is then exported again. 2: activations scaled per
# row (1 scaled them per call and was run one text per call).
FORMAT: Final = 2
EXPORT_TIMEOUT_S: Final = 900.0  # 10-30 s on 2 cores; a busy host is slower


def export_folder(cache_dir: Path, name: str = DEFAULT_ENCODER) -> Path:
    """Where the export of encoder `name` lives under `cache_dir`."""
    return keyed_folder(cache_dir, "onnx-encoder", name, FORMAT)


def ensure_exported(cache_dir: Path, name: str = DEFAULT_ENCODER) -> Path:
    """The export folder of `name`, exporting it first if it is missing (atomic: see
    `build_once`, so concurrent processes never see half an export)."""
    return build_once(
        export_folder(cache_dir, name),
        INFO_FILE,
        lambda out: build_in_child(__name__, name, str(out), timeout_s=EXPORT_TIMEOUT_S),
    )


def _export(name: str, out: Path) -> None:
    import torch
    from torch import nn

    from models.classifiers.onnx_export import export_network
    from models.classifiers.onnx_quantize import quantize_int8

    model = TextEncoder(name).model
    transformer = model[0].auto_model

    class Pooled(nn.Module):
        """token ids, mask -> mean-pooled, L2-normalised embeddings (what `encode` returns)."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)

    logger.info("exporting sentence encoder %s to ONNX int8 (once)", name)
    fp32 = export_network(Pooled(), out / "encoder-fp32.onnx")
    quantize_int8(fp32, out / GRAPH_FILE)
    fp32.unlink()
    model.tokenizer.backend_tokenizer.save(str(out / TOKENIZER_FILE))
    pad_id = int(model.tokenizer.pad_token_id or 0)
    info = {"name": name, "format": FORMAT, "pad_id": pad_id, "max_tokens": MAX_TOKENS}
    (out / INFO_FILE).write_text(json.dumps(info))


class OnnxSentenceEncoder:
    """Encodes texts into L2-normalised float32 vectors with an exported int8 graph.

    A query is embedded alone and cases in batches; the per-row int8 graph gives a text the same
    vector either way, which is what lets a query find the case it repeats word for word.
    """

    def __init__(self, folder: Path, batch_size: int = TEXTS_PER_CALL) -> None:
        from tokenizers import Tokenizer

        from models.classifiers.onnx_runner import OnnxLogits  # with onnxruntime, on use

        info = json.loads((folder / INFO_FILE).read_text())
        # An EmbeddingCache key: vectors differ with the graph (not with the batch size).
        self.name = f"{info['name']}#onnx-int8-v{info['format']}"
        self.pad_id = int(info["pad_id"])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(info["max_tokens"]))
        self.graph = OnnxLogits(folder / GRAPH_FILE, batch_size=batch_size)
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.encode(["a"]).shape[1])
        return self._dimension

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # One by one: `encode_batch` hands even one text to the library's thread pool.
        ids = [self.tokenizer.encode(text).ids for text in texts]
        vectors = self.graph(ids, self.pad_id).astype(np.float32)
        # Re-normalised after the int8 graph's rounding, so a dot product stays a cosine.
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


if __name__ == "__main__":  # the child side of `build_in_child`
    run_build(sys.argv[1:], _export)
