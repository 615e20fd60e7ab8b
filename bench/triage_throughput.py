"""Benchmark: each triage model's throughput and latency, and the fastest one that is good enough.

Loads the models `agora benchmark triage --save-dir DIR` saved for one split (default: airline
sentiment), re-scores them on the split's fixed test part, then measures on this machine:

- throughput: texts per second predicting the test texts in batches of 64 (after one warm-up batch);
- latency: median and 95th percentile of `predict_proba` on one text (a triage request), over
  `--latency-calls` different tweets.

It names the fastest model (by throughput) that meets the issue's accuracy bar on the split
(airline sentiment: accuracy >= 0.85 and macro-F1 >= 0.80). CPU threads: torch's default
(all cores); the models' numpy/scipy parts run single-threaded (OPENBLAS_NUM_THREADS=1).

Usage:
    agora benchmark triage --splits airline-sentiment/sentiment --save-dir /tmp/triage-models
    python bench/triage_throughput.py --models-dir /tmp/triage-models [--split DATASET/TASK]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from data.environment import apply_stack_environment
from features.text_splits import load_split
from models.classifiers import TextClassifier, load_classifier
from training.triage.benchmark import ACCEPTANCE, meets_bar, parse_split_name
from training.triage.metrics import classification_report
from training.triage.pipeline import model_inputs

BATCH_SIZE = 64


def throughput(classifier: TextClassifier, texts: list[str]) -> float:
    """Texts per second over `texts` in batches of 64, after a warm-up batch."""
    classifier.predict_proba(texts[:BATCH_SIZE])
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH_SIZE):
        classifier.predict_proba(texts[start : start + BATCH_SIZE])
    return len(texts) / (time.perf_counter() - started)


def latency_ms(classifier: TextClassifier, texts: list[str]) -> tuple[float, float]:
    """Median and 95th-percentile milliseconds of predicting one text."""
    classifier.predict_proba(texts[:1])
    times = []
    for text in texts:
        started = time.perf_counter()
        classifier.predict_proba([text])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), float(np.percentile(times, 95))


def main() -> int:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, required=True)
    parser.add_argument("--split", default="airline-sentiment/sentiment")
    parser.add_argument("--throughput-texts", type=int, default=1024)
    parser.add_argument("--latency-calls", type=int, default=100)
    args = parser.parse_args()

    dataset, task = parse_split_name(args.split)
    folder = args.models_dir / f"{dataset}-{task}"
    model_dirs = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not model_dirs:
        print(f"no saved models under {folder}; run `agora benchmark triage --save-dir`")
        return 1
    split = load_split(dataset, task)
    texts = model_inputs(split.test_texts)  # as training and serving see them (cleaned, masked)
    import torch  # after the split: only to report the thread count actually used

    print(
        f"split {args.split}: {len(split.test_texts)} test texts; torch threads "
        f"{torch.get_num_threads()}; bar {ACCEPTANCE.get((dataset, task), 'none')}"
    )
    header = (
        f"{'model':<11}{'accuracy':>9}{'macro-F1':>9}{'texts/s@64':>11}"
        f"{'p50 ms':>8}{'p95 ms':>8}  bar"
    )
    print(header)
    print("-" * len(header))
    qualified: list[tuple[float, str]] = []
    for model_dir in model_dirs:
        classifier = load_classifier(model_dir)
        report = classification_report(
            split.test_labels, classifier.predict_proba(texts), classifier.classes_
        )
        rate = throughput(classifier, texts[: args.throughput_texts])
        p50, p95 = latency_ms(classifier, texts[: args.latency_calls])
        ok = meets_bar(dataset, task, report.accuracy, report.macro_f1)
        if ok:
            qualified.append((rate, model_dir.name))
        mark = "-" if ok is None else ("yes" if ok else "no")
        print(
            f"{model_dir.name:<11}{report.accuracy:>9.4f}{report.macro_f1:>9.4f}"
            f"{rate:>11.0f}{p50:>8.1f}{p95:>8.1f}  {mark}"
        )
    if qualified:
        rate, name = max(qualified)
        print(f"fastest model meeting the bar: {name} ({rate:.0f} texts/s at batch {BATCH_SIZE})")
    else:
        print("no model meets the bar on this split")
    return 0


if __name__ == "__main__":
    sys.exit(main())
