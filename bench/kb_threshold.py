"""Benchmark: where a knowledge-base encoder's similarity threshold belongs.

A case counts as similar from the encoder's `MIN_SIMILARITY` up. The threshold should keep the
nearest case of nearly every real query and cut off what is plainly unrelated. For one encoder:

- the nearest case's similarity for the held-out queries of bench/kb_retrieval.py's splits
  (Bitext intents and CFPB narratives, same seed, same sizes): its 1 % and 5 % quantiles;
- the similarity of unrelated pairs: each of 300 airline compliments (positive tweets) against
  each of 300 lost-luggage complaints: its 95 % and 99 % quantiles.

Prints the quantiles and the encoder's current threshold with the share of each side it keeps.

Usage: AGORA_DATA_MIRROR=... python bench/kb_threshold.py [--encoder static-lexical] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from data import schemas as S
from data.environment import apply_stack_environment
from data.loaders import load_labelled_texts
from models.knowledge import KbEncoder
from models.knowledge.encoders import DEFAULT_KB_ENCODER, MIN_SIMILARITY
from models.knowledge.knowledge_base import Encoder

PAIRS_PER_SIDE = 300


def nearest_similarities(encoder: Encoder, cases: list[str], queries: list[str]) -> np.ndarray:
    """Cosine of each query's nearest case (vectors are unit length, or zero)."""
    case_vectors = np.asarray(encoder.encode(cases), dtype=np.float32)
    best = []
    for start in range(0, len(queries), 500):
        query_vectors = np.asarray(encoder.encode(queries[start : start + 500]), dtype=np.float32)
        best.append((query_vectors @ case_vectors.T).max(axis=1))
    return np.concatenate(best)


def unrelated_similarities(encoder: Encoder, seed: int) -> np.ndarray:
    """Cosines of airline compliments against lost-luggage complaints (every pair)."""
    tweets = load_labelled_texts("airline-sentiment")
    compliments = tweets[tweets[S.LABEL] == "positive"][S.TEXT].drop_duplicates()
    lost_bags = tweets[tweets[S.REASON] == "Lost Luggage"][S.TEXT].drop_duplicates()
    picked = [
        side.sample(min(PAIRS_PER_SIDE, len(side)), random_state=seed).tolist()
        for side in (compliments, lost_bags)
    ]
    left, right = (np.asarray(encoder.encode(texts), dtype=np.float32) for texts in picked)
    return (left @ right.T).ravel()


def main(argv: list[str] | None = None) -> int:
    apply_stack_environment()
    sys.path.insert(0, str(Path(__file__).parent))
    import kb_retrieval  # the same splits and encoders as the retrieval benchmark

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=DEFAULT_KB_ENCODER.value, choices=list(KbEncoder))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    kind = KbEncoder(args.encoder)
    encoder = kb_retrieval.make_encoder(kind.value)
    threshold = MIN_SIMILARITY[kind]
    print(f"encoder {kind.value}; threshold {threshold}; seed {args.seed}")
    print(f"{'texts':<34} {'n':>7} {'1 %':>6} {'5 %':>6} {'95 %':>6} {'99 %':>6} {'>= thr.':>8}")
    splits = (("bitext-intents", S.LABEL, 5000, 1000), ("cfpb-complaints", S.REASON, None, None))
    for dataset, label, cases, queries in splits:
        frame = load_labelled_texts(dataset)
        kb, held_out = kb_retrieval.split(frame, label, args.seed, cases, queries)
        scores = nearest_similarities(encoder, kb[S.TEXT].tolist(), held_out[S.TEXT].tolist())
        _row(f"nearest case, {dataset}", scores, threshold)
    _row("unrelated: compliment x lost bag", unrelated_similarities(encoder, args.seed), threshold)
    return 0


def _row(name: str, scores: np.ndarray, threshold: float) -> None:
    q = np.quantile(scores, [0.01, 0.05, 0.95, 0.99])
    kept = float(np.mean(scores >= threshold))
    print(f"{name:<34} {len(scores):>7,} " + " ".join(f"{v:>6.3f}" for v in q) + f" {kept:>8.1%}")


if __name__ == "__main__":
    sys.exit(main())
