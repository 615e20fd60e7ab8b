"""Benchmark: does the knowledge base find cases of the same problem? precision@3 vs TF-IDF.

For two labelled datasets, a fixed seeded split makes a knowledge base (the "resolved cases")
and held-out queries (new messages). Each query retrieves its 3 nearest cases; a retrieved case
is relevant when it carries the query's label:

- `bitext-intents`: the intent (27 intents). Subsampled: 5,000 cases, 1,000 queries.
- `cfpb-complaints`: the CFPB "Issue" of the narratives (rows without a narrative dropped);
  80 % cases, 20 % queries.

Texts are de-duplicated before the split (no query has its exact text among the cases).
Retrieval by the service's own code (`models.knowledge.KnowledgeBase` with a served encoder: the
default, all-MiniLM-L6-v2's static distillation beside hashed word counts, `--encoder static` for
the static vectors alone, `--encoder minilm-int8` for the transformer as an int8 ONNX graph, or
`--encoder torch-fp32`; cosine; it reads the first
2,000 characters, the encoder the first 256 word pieces) is compared
with a TF-IDF cosine retrieval (scikit-learn, word 1-2 grams, sublinear tf, fitted on the cases)
over the whole text. `chance` is the precision of cases drawn at random from the knowledge base.
A second table ranks as the service does (`KnowledgeBase.similar` with the query's reason:
cases of that reason first among the nearest 20), the reason predicted by a TF-IDF classifier
trained on the cases, against plain TF-IDF retrieval, and TF-IDF re-ordered by the same reasons
for reference.
`95% CI diff` is a paired bootstrap interval (2,000 resamples of the queries) of encoder minus
TF-IDF precision: an interval above 0 means the encoder is better on this split beyond query
sampling noise. Embeddings go through the on-disk cache (features.embeddings.EmbeddingCache,
AGORA_EMBEDDING_CACHE), so a rerun takes seconds; the first run embeds ~7,500 texts.

Usage:
    python bench/kb_retrieval.py [--seed 0] [--bitext-cases 5000] [--bitext-queries 1000]
                                 [--json kb_retrieval.json]
Needs the datasets (mirror via AGORA_DATA_MIRROR, or fetched). The first run takes 3-8 minutes
on 2 shared cores (the CFPB narratives are long), a rerun under a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from data import schemas as S
from data.environment import apply_stack_environment
from data.loaders import load_labelled_texts
from data.store.resolutions import RESOLVED, ResolvedCase
from features.embeddings import EmbeddingCache, default_cache_dir, shared_text_encoder
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.knowledge import (
    DEFAULT_KB_ENCODER,
    Encoder,
    KbEncoder,
    KnowledgeBase,
    knowledge_encoder,
)
from models.knowledge.knowledge_base import REASON_CANDIDATES

K = 3
QUERY_CHUNK = 1000  # KnowledgeBase.similar takes at most this many texts per call
TORCH_FP32 = "torch-fp32"  # the transformer unquantised, for reference: not a served encoder


@dataclass(frozen=True)
class RetrievalResult:
    dataset: str
    label: str
    cases: int
    queries: int
    labels: int
    encoder_precision: float
    tfidf_precision: float
    diff_ci_low: float
    diff_ci_high: float
    chance_precision: float
    encoder_seconds: float
    tfidf_seconds: float
    reason_accuracy: float = 0.0  # the reason model's accuracy on the queries
    encoder_reason_precision: float = 0.0  # the service's ranking: the query's reason first
    reason_diff_ci_low: float = 0.0  # encoder + reason minus TF-IDF
    reason_diff_ci_high: float = 0.0
    tfidf_reason_precision: float = 0.0  # TF-IDF retrieval re-ordered by the same reasons

    @property
    def ratio(self) -> float:
        return self.encoder_precision / self.tfidf_precision if self.tfidf_precision else np.inf


def per_query_precision(
    retrieved: Sequence[Sequence[str]], query_labels: Sequence[str], k: int
) -> np.ndarray:
    """Per query, the share of the k retrieved labels equal to the query's label (fewer than
    k retrieved: the missing ones count as not relevant). Their mean is precision@k."""
    return np.array(
        [
            sum(label == wanted for label in got[:k]) / k
            for got, wanted in zip(retrieved, query_labels, strict=True)
        ]
    )


def paired_bootstrap_ci(
    a: np.ndarray, b: np.ndarray, seed: int, resamples: int = 2000
) -> tuple[float, float]:
    """95 % percentile interval of mean(a - b) over queries resampled with replacement."""
    rng = np.random.default_rng(seed)
    diff = a - b
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def split(
    frame: pd.DataFrame, label: str, seed: int, cases: int | None, queries: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """De-duplicated texts, shuffled with `seed`; the first part cases, the next queries
    (both subsampled to the given sizes; None: 80 % / 20 %)."""
    frame = frame[frame[S.TEXT].fillna("").str.strip() != ""]
    frame = frame.drop_duplicates(S.TEXT)[[S.TEXT, label]].dropna()
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    n_cases = cases if cases is not None else int(0.8 * len(frame))
    n_queries = queries if queries is not None else len(frame) - n_cases
    if n_cases + n_queries > len(frame):
        raise ValueError(f"{n_cases} cases + {n_queries} queries > {len(frame)} distinct texts")
    return frame.iloc[:n_cases], frame.iloc[n_cases : n_cases + n_queries]


def make_encoder(kind: str) -> Encoder:
    """A served encoder (all-MiniLM-L6-v2's static distillation, alone or beside word counts, or
    the transformer as int8 ONNX), or the transformer in fp32 torch."""
    if kind == TORCH_FP32:
        return EmbeddingCache(shared_text_encoder())
    return EmbeddingCache(knowledge_encoder(default_cache_dir(), KbEncoder(kind)))  # type: ignore[arg-type]


def encoder_retrieval(
    encoder: Encoder,
    kb_texts: list[str],
    kb_labels: list[str],
    queries: list[str],
    reasons: list[str] | None = None,
) -> list:
    base = KnowledgeBase(encoder)
    base.add(
        [
            ResolvedCase(i + 1, str(i), text, label, None, None, "-", RESOLVED)
            for i, (text, label) in enumerate(zip(kb_texts, kb_labels, strict=True))
        ]
    )
    found = []
    for start in range(0, len(queries), QUERY_CHUNK):
        chunk = queries[start : start + QUERY_CHUNK]
        wanted = None if reasons is None else reasons[start : start + QUERY_CHUNK]
        found += base.similar(chunk, k=K, min_similarity=-1.0, reasons=wanted)
    return [[case.reason for case in row] for row in found]


def tfidf_retrieval(
    kb_texts: list[str],
    kb_labels: list[str],
    queries: list[str],
    reasons: list[str] | None = None,
) -> list:
    """Top-K labels by TF-IDF cosine; with `reasons`, the REASON_CANDIDATES nearest re-ordered
    as the knowledge base re-orders them (the query's reason first)."""
    fetch = REASON_CANDIDATES if reasons is not None else K
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
    cases = vectorizer.fit_transform(kb_texts)  # rows L2-normalised: a dot product is the cosine
    found = []
    for start in range(0, len(queries), QUERY_CHUNK):
        similarity = (
            vectorizer.transform(queries[start : start + QUERY_CHUNK]) @ cases.T
        ).toarray()
        top = np.argsort(-similarity, axis=1, kind="stable")[:, :fetch]
        for offset, row in enumerate(top):
            labels = [kb_labels[i] for i in row]
            if reasons is not None:
                wanted = reasons[start + offset]
                labels.sort(key=lambda label, wanted=wanted: label != wanted)
            found.append(labels[:K])
    return found


def reason_predictions(kb_texts: list[str], kb_labels: list[str], queries: list[str]) -> list:
    """What a reason model trained on the resolved cases says of each query: the triage
    engine's TF-IDF classifier (default settings, uncalibrated), as a reason slot would serve it."""
    # Calibration would cross-fit, and CFPB has issues with one case: only the argmax is used.
    model = TfidfClassifier(TfidfConfig(calibration_folds=0)).fit(kb_texts, kb_labels)
    return [str(label) for label in model.predict(queries)]


def chance_precision(kb_labels: list[str], query_labels: list[str]) -> float:
    share = {label: n / len(kb_labels) for label, n in Counter(kb_labels).items()}
    return float(np.mean([share.get(label, 0.0) for label in query_labels]))


def run(
    encoder: Encoder,
    dataset: str,
    label: str,
    seed: int,
    cases: int | None,
    queries: int | None,
) -> RetrievalResult:
    kb, held_out = split(load_labelled_texts(dataset), label, seed, cases, queries)
    kb_texts, kb_labels = kb[S.TEXT].tolist(), kb[label].astype(str).tolist()
    texts, wanted = held_out[S.TEXT].tolist(), held_out[label].astype(str).tolist()
    started = time.perf_counter()
    by_encoder = encoder_retrieval(encoder, kb_texts, kb_labels, texts)
    encoder_s = time.perf_counter() - started
    started = time.perf_counter()
    by_tfidf = tfidf_retrieval(kb_texts, kb_labels, texts)
    tfidf_s = time.perf_counter() - started
    reasons = reason_predictions(kb_texts, kb_labels, texts)
    by_encoder_reason = encoder_retrieval(encoder, kb_texts, kb_labels, texts, reasons)
    by_tfidf_reason = tfidf_retrieval(kb_texts, kb_labels, texts, reasons)
    encoder_hits = per_query_precision(by_encoder, wanted, K)
    tfidf_hits = per_query_precision(by_tfidf, wanted, K)
    reason_hits = per_query_precision(by_encoder_reason, wanted, K)
    low, high = paired_bootstrap_ci(encoder_hits, tfidf_hits, seed)
    reason_low, reason_high = paired_bootstrap_ci(reason_hits, tfidf_hits, seed)
    return RetrievalResult(
        dataset=dataset,
        label=label,
        cases=len(kb_texts),
        queries=len(texts),
        labels=len(set(kb_labels)),
        encoder_precision=float(encoder_hits.mean()),
        tfidf_precision=float(tfidf_hits.mean()),
        diff_ci_low=low,
        diff_ci_high=high,
        chance_precision=chance_precision(kb_labels, wanted),
        encoder_seconds=encoder_s,
        tfidf_seconds=tfidf_s,
        reason_accuracy=float(np.mean([a == b for a, b in zip(reasons, wanted, strict=True)])),
        encoder_reason_precision=float(reason_hits.mean()),
        reason_diff_ci_low=reason_low,
        reason_diff_ci_high=reason_high,
        tfidf_reason_precision=float(per_query_precision(by_tfidf_reason, wanted, K).mean()),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bitext-cases", type=int, default=5000)
    parser.add_argument("--bitext-queries", type=int, default=1000)
    parser.add_argument(
        "--encoder",
        choices=[*(kind.value for kind in KbEncoder), TORCH_FP32],
        default=DEFAULT_KB_ENCODER.value,
        help="a served encoder (AGORA_KB_ENCODER; the service's default first) or the transformer "
        "in fp32 torch",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    apply_stack_environment()
    encoder = make_encoder(args.encoder)
    print(f"encoder: all-MiniLM-L6-v2 {args.encoder}; seed {args.seed}")
    results = [
        run(encoder, "bitext-intents", S.LABEL, args.seed, args.bitext_cases, args.bitext_queries),
        run(encoder, "cfpb-complaints", S.REASON, args.seed, None, None),
    ]
    header = (
        f"{'dataset':<16} {'relevant =':<10} {'cases':>6} {'queries':>7} {'labels':>6} "
        f"{'encoder P@3':>11} {'TF-IDF P@3':>10} {'ratio':>6} {'95% CI diff':>16} {'chance':>6}"
    )
    print(header)
    for r in results:
        relevant = "intent" if r.dataset == "bitext-intents" else "issue"
        print(
            f"{r.dataset:<16} {relevant:<10} {r.cases:>6} {r.queries:>7} {r.labels:>6} "
            f"{r.encoder_precision:>11.3f} {r.tfidf_precision:>10.3f} {r.ratio:>6.2f} "
            f"{f'[{r.diff_ci_low:+.3f}, {r.diff_ci_high:+.3f}]':>16} {r.chance_precision:>6.3f}"
        )
    print(
        "\nwith the query's reason first (the service's ranking; the reason from a TF-IDF "
        "classifier trained on the cases):"
    )
    print(
        f"{'dataset':<16} {'reason acc.':>11} {'encoder+reason P@3':>18} {'95% CI vs TF-IDF':>17} "
        f"{'TF-IDF+reason P@3':>17}"
    )
    for r in results:
        interval = f"[{r.reason_diff_ci_low:+.3f}, {r.reason_diff_ci_high:+.3f}]"
        print(
            f"{r.dataset:<16} {r.reason_accuracy:>11.3f} {r.encoder_reason_precision:>18.3f} "
            f"{interval:>17} {r.tfidf_reason_precision:>17.3f}"
        )
    if args.json:
        rows = [
            {**asdict(r), "ratio": r.ratio, "seed": args.seed, "encoder": args.encoder}
            for r in results
        ]
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
