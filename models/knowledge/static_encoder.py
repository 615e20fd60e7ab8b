"""The knowledge base's fast encoder: static token vectors distilled from the sentence encoder.

`/triage` embeds every complaint it answers with similar cases, so the encoder's cost is paid on
the request path. all-MiniLM-L6-v2 (six transformer layers) costs about 3.4 ms for a 29-token
tweet on one core, int8: a third of the CPU a `/triage` with similar cases takes, and what kept
its p99 above the serving target at 100 requests/s on 2 cores. model2vec distils the same
encoder into one vector per word piece (each vocabulary token passed through the transformer,
PCA to 256 dimensions, frequency weighting); a text is the mean of its pieces' vectors, about
0.2 ms. It reads words, not their order or context, and finds fewer cases of the same issue in
long narratives than the transformer (bench/kb_retrieval.py measures both). The dense half of
the knowledge base's default encoder (`lexical`: static-lexical), with which `/triage` keeps its
latency target on 2 cores.

The distillation needs torch and transformers once (about 20 s on 2 cores), in a child
interpreter (`python -m models.knowledge.static_encoder NAME OUT`), so the process that asked,
a serving worker, never loads them; the folder it writes is keyed by the encoder name and reused
by every later process. Serving it needs only model2vec's numpy runtime and the `tokenizers`
library.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np

from features.embeddings import DEFAULT_ENCODER, resolve_encoder_path
from models.artifacts import build_in_child, build_once, keyed_folder, run_build

logger = logging.getLogger(__name__)

# model2vec's default. 384 (PCA without reduction) found no more; no PCA at all keeps a common
# direction that puts even unrelated texts above 0.9 cosine, so no threshold separates them.
PCA_DIMS: Final = 256
INFO_FILE: Final = "agora-static.json"
FORMAT: Final = 1  # bump when the distillation changes: an old folder is then distilled again
DISTILL_TIMEOUT_S: Final = 900.0  # about 20 s on 2 idle cores; a busy host is slower


def static_folder(cache_dir: Path, name: str = DEFAULT_ENCODER) -> Path:
    """Where the distillation of encoder `name` lives under `cache_dir`."""
    return keyed_folder(cache_dir, "static-encoder", name, "static", FORMAT)


def ensure_distilled(cache_dir: Path, name: str = DEFAULT_ENCODER) -> Path:
    """The distilled folder of `name`, distilling it first if it is missing (atomic: see
    `build_once`, so concurrent workers never load half a folder)."""
    return build_once(
        static_folder(cache_dir, name),
        INFO_FILE,
        lambda out: build_in_child(__name__, name, str(out), timeout_s=DISTILL_TIMEOUT_S),
    )


def _distill(name: str, out: Path) -> None:
    from model2vec.distill import distill

    logger.info("distilling static token vectors from %s (once)", name)
    model = distill(model_name=resolve_encoder_path(name), pca_dims=PCA_DIMS)
    model.save_pretrained(str(out))
    info = {"name": name, "format": FORMAT, "pca_dims": PCA_DIMS}
    (out / INFO_FILE).write_text(json.dumps(info))


class StaticSentenceEncoder:
    """Encodes texts into L2-normalised float32 vectors: the mean of their word pieces'
    distilled vectors. A text's vector does not depend on what it is encoded with."""

    def __init__(self, folder: Path) -> None:
        from model2vec import StaticModel

        info = json.loads((folder / INFO_FILE).read_text())
        # An EmbeddingCache key: vectors differ from the transformer's.
        self.name = f"{info['name']}#static-v{info['format']}"
        self.model = StaticModel.from_pretrained(folder, force_download=False)

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # No worker processes: the service calls this from its request threads.
        vectors = self.model.encode(
            list(texts), show_progress_bar=show_progress, use_multiprocessing=False
        ).astype(np.float32)
        # A text of no known piece has the zero vector; it stays zero (similar to nothing).
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def static_encoder(cache_dir: Path, name: str = DEFAULT_ENCODER) -> StaticSentenceEncoder:
    """`name` distilled under `cache_dir` (once), loaded."""
    return StaticSentenceEncoder(ensure_distilled(cache_dir, name))


if __name__ == "__main__":  # the child side of `build_in_child`
    run_build(sys.argv[1:], _distill)
