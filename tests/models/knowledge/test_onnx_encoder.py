"""The knowledge base's int8 ONNX encoder: built lazily, agrees with the fp32 model it exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from features.embeddings import TextEncoder
from models.knowledge import KbEncoder, LazyEncoder, knowledge_encoder
from models.knowledge.onnx_encoder import export_folder


def test_the_lazy_encoder_builds_nothing_until_it_encodes() -> None:
    built: list[int] = []

    class Fixed:
        def encode(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 2), np.float32)

    def build() -> Fixed:
        built.append(1)
        return Fixed()

    lazy = LazyEncoder(build)  # type: ignore[arg-type]
    assert not lazy.loaded and built == []
    assert lazy.encode(["a", "b"]).shape == (2, 2)
    lazy.encode(["c"])
    assert lazy.loaded and built == [1]


@pytest.mark.slow
def test_the_int8_export_agrees_with_the_fp32_model(tmp_path: Path) -> None:
    encoder = knowledge_encoder(tmp_path, KbEncoder.MINILM_INT8)
    assert export_folder(tmp_path).is_dir()
    texts = [
        "my checked bag never arrived in Denver",
        "my suitcase did not show up at baggage claim",
        "the in-flight movies were great, thanks",
        "x" * 5000,  # past the encoder's 256 word pieces: truncated, not refused
    ]
    int8 = encoder.encode(texts)
    fp32 = TextEncoder().encode(texts)
    assert int8.shape == fp32.shape == (4, 384)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert (int8 * fp32).sum(axis=1).min() > 0.97
    assert int8[0] @ int8[1] > int8[0] @ int8[2] + 0.1  # a paraphrase is closer (fp32: .36, .16)
    # A second process loads the export instead of exporting again, and a text's vector does not
    # depend on the texts beside it (regression: int8 activations were scaled per batch of 64).
    again = knowledge_encoder(tmp_path, KbEncoder.MINILM_INT8)
    assert np.allclose(again.encode(texts[:1]), int8[:1], atol=1e-6)
